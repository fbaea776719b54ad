#!/usr/bin/env bash
# Numbers on the command line are parsed strictly, the same way in every command (cli/args.c):
# "abc", "2x", "1,2" where one index is expected, negative counts, out-of-range fractions are
# refused with exit code 2 and a message naming the flag and the accepted range, before any
# model is loaded. And no atoi/atof/unchecked strto* is left in cli/ to bring the old
# behaviour back (2x read as 2, abc as 0).
# Needs $GAZE_BIN (ctest sets it) and the fetched minilm model for the live cases.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_cli_numbers
SRC=${GAZE_SOURCE_DIR:-.}

# refuse NAME WANT_SUBSTRING ARGS...: exit 2, stderr names the flag / range, nothing on stdout
refuse() {
    local name=$1 want=$2
    shift 2
    "$BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ $rc -ne 2 ]; then bad "$name: exit $rc, want 2 ($(head -c 300 "$tmp/err"))"; return; fi
    if ! grep -qF -- "$want" "$tmp/err"; then bad "$name: stderr lacks '$want': $(head -c 300 "$tmp/err")"; return; fi
    if [ -s "$tmp/out" ]; then bad "$name: wrote to stdout: $(head -c 200 "$tmp/out")"; return; fi
    ok
}

R=minilm   # never loaded: every case below fails while parsing
refuse run_maxlen_abc     "--max-len: 'abc' is not an integer"          run $R hi --max-len abc
refuse run_generate_neg   "--generate: '-3' is not an integer in 0.."   run $R hi --generate -3
refuse run_generate_2x    "--generate: '2x' is not an integer"          run $R hi --generate 2x
refuse run_threads_x      "--threads: 'x' is not an integer in 0..4096" run $R hi --threads x
refuse run_seed_abc       "--seed: 'abc' is not an integer"             run $R hi --generate 1 --temperature 1 --seed abc
refuse run_seed_neg       "--seed: '-1' is not an integer"              run $R hi --generate 1 --temperature 1 --seed -1
refuse run_temp_abc       "--temperature: 'abc' is not a number"        run $R hi --generate 1 --temperature abc
refuse run_temp_neg       "--temperature: '-1' is not a number >= 0"    run $R hi --generate 1 --temperature -1
refuse run_topp_range     "--top-p: '1.5' is not a number in [0, 1]"    run $R hi --generate 1 --temperature 1 --top-p 1.5
refuse run_topp_nan       "--top-p: 'nan' is not a number"              run $R hi --generate 1 --temperature 1 --top-p nan
refuse run_maxlen_space   "--max-len: ' 5' is not an integer"           run $R hi --max-len " 5"
refuse show_layer_abc     "--layer: 'abc' is not an integer"            show $R hi --layer abc
refuse show_layer_2x      "--layer: '2x' is not an integer"             show $R hi --layer 2x
refuse show_head_list     "--head: '1,2' is not an integer"             show $R hi --head 1,2
refuse show_top_abc       "--top: 'abc' is not an integer in 0..16"     show $R hi --top abc
refuse show_width_x       "--width: 'x' is not an integer"              show $R hi --width x
refuse heads_layer_2x     "--layer: '2x' is not an integer"             heads $R hi --layer 2x
refuse heads_broad        "--broad: 'abc' is not a number in [0, 1]"    heads $R hi --broad abc
refuse heads_positional   "--positional: '2' is not a number in [0, 1]" heads $R hi --positional 2
refuse heads_special      "--special: 'x' is not a number"              heads $R hi --special x
refuse heads_sink         "--sink: '-0.1' is not a number"              heads $R hi --sink -0.1
refuse heads_detector     "--detector: '0.5x' is not a number"          heads $R hi --detector 0.5x
refuse heads_seqlen       "--seq-len: '0' is not an integer in 1.."     heads --induction $R --seq-len 0
refuse heads_batch        "--batch: 'four' is not an integer"           heads --induction $R --batch four
refuse heads_seed         "--seed: '1.5' is not an integer"             heads --induction $R --seed 1.5
refuse heads_threads      "--threads: 'x' is not an integer"            heads $R hi --threads x
refuse rollout_discard    "--discard: '1.5' is not a number in [0, 1)"  rollout $R hi --discard 1.5
refuse rollout_discard1   "--discard: '1' is not a number in [0, 1)"    rollout $R hi --discard 1
refuse flow_discard       "--discard: 'abc' is not a number in [0, 1)"  flow $R hi --discard abc
refuse diff_top           "--top: 'abc' is not an integer"              diff $R a b --top abc
refuse diff_layer         "--layer: '1x' is not an integer"             diff $R a b --layer 1x --plot "$tmp/d.png"
refuse diff_head          "--head: '1,2' is not an integer"             diff $R a b --head 1,2 --plot "$tmp/d.png"
refuse ablate_top         "--top: '-1' is not an integer in 0.."        ablate $R hi --top -1
refuse corpus_maxlen      "--max-len: 'abc' is not an integer"          corpus $R "$tmp/c.txt" --max-len abc
refuse corpus_limit       "--limit: '10k' is not an integer"            corpus $R "$tmp/c.txt" --limit 10k
refuse corpus_checkpoint  "--checkpoint: '0' is not an integer >= 1"    corpus $R "$tmp/c.txt" -o "$tmp/s.json" --checkpoint 0
refuse corpus_shard       "--shard"                                     corpus $R "$tmp/c.txt" --shard 1x/4
refuse corpus_shard_range "--shard i: '4' is not an integer in 0..3"    corpus $R "$tmp/c.txt" --shard 4/4
refuse view_generate      "--generate: '-3' is not an integer"          view $R hi -o "$tmp/v.html" --generate -3
refuse view_discard       "--discard: '1.5' is not a number in [0, 1)"  view $R hi -o "$tmp/v.html" --discard 1.5
refuse view_maxmb         "--max-mb: '0' is not an integer in 1..4000"  view $R hi -o "$tmp/v.html" --max-mb 0
refuse plot_layer         "--layer: 'abc' is not an integer"            plot $R hi -o "$tmp/p.png" --layer abc
refuse plot_vmax          "--vmax: '0' is not a number > 0"             plot $R hi -o "$tmp/p.png" --vmax 0
refuse plot_query         "--query: '2x' is not an integer"             plot $R hi -o "$tmp/p.png" --query 2x
refuse plot_head_list     "--head: '1,2' is not an integer"             plot $R hi -o "$tmp/p.png" --head 1,2
refuse bench_seq          "--seq: 'abc' is not an integer in 1.."       bench attention --seq abc
refuse bench_dim          "--dim: '0' is not an integer in 1.."         bench attention --dim 0
refuse bench_repeat       "--repeat: '2x' is not an integer"            bench attention --repeat 2x
refuse bench_threads      "--threads: 'x' is not an integer"            bench attention --threads x
refuse bench_window       "--window: '-1' is not an integer"            bench attention --window -1
refuse bench_batch        "--batch: '99999999999999999999' is not an integer" bench attention --batch 99999999999999999999

# Accepted forms still work: --layer -1 is the last layer, --discard 0.5, a seed.
if [ -d "$MODELS/minilm" ]; then
    out=$("$BIN" show minilm "the cat sat" --layer -1 --head 3 --top 0 --width 80 --no-color 2>&1); rc=$?
    if [ $rc -eq 0 ] && grep -qF "layer 5, head 3" <<<"$out"; then ok; else bad "show --layer -1 (last): rc $rc: $(head -c 300 <<<"$out")"; fi
    out=$("$BIN" rollout minilm "the cat sat" --discard 0.5 --json 2>&1); rc=$?
    if [ $rc -eq 0 ] && grep -qF '"discard_ratio":0.5' <<<"$out"; then ok; else bad "rollout --discard 0.5: rc $rc"; fi
else
    bad "minilm is not fetched ($MODELS/minilm): run scripts/fetch-test-models"
fi

# The sources: no atoi/atof/atol(l) and no strto* outside the shared parser in cli/args.c.
hits=$(grep -nE '\bato(i|f|l|ll)\s*\(' "$SRC"/cli/*.c)
if [ -z "$hits" ]; then ok; else bad "atoi/atof left in cli/: $hits"; fi
hits=$(grep -nE '\bstrto(f|d|ld|l|ll|ul|ull|imax|umax)\s*\(' "$SRC"/cli/*.c | grep -v '^[^:]*cli/args\.c:')
if [ -z "$hits" ]; then ok; else bad "strto* outside cli/args.c: $hits"; fi

e2e_finish
