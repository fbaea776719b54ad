#!/usr/bin/env bash
# Encoder-decoder run files through every command's --kind encoder|decoder|cross: the default
# (the encoder, said on stderr), each kind's values, refusals naming the kind, the alignment
# figure, and cross-attention metrics in gaze heads --json (alignment entropy, source coverage)
# against hand-computed values. The run files come from tests/e2e/make_encdec_run.py.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_kinds
e2e_need_bin
ROOT="${GAZE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
run="$tmp/encdec.safetensors"
enc="$tmp/enc.safetensors"
python3 "$ROOT/tests/e2e/make_encdec_run.py" "$run" || { bad "make_encdec_run.py failed"; e2e_finish; }
python3 "$ROOT/tests/e2e/make_encdec_run.py" "$enc" --encoder-only || { bad "make_encdec_run.py --encoder-only failed"; e2e_finish; }

# expect NAME RC GREP_STDERR CMD...: exit code and a message on stderr
expect() {
    local name=$1 want=$2 msg=$3
    shift 3
    "$BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then bad "$name: exit $rc, want $want ($(head -c 300 "$tmp/err"))"; return; fi
    if [ -n "$msg" ] && ! grep -qF -- "$msg" "$tmp/err"; then bad "$name: stderr lacks '$msg': $(head -c 300 "$tmp/err")"; return; fi
    ok
}

expect "info" 0 "" info "$run"
check 'grep -q "cross:   1 layers, 2 heads" "$tmp/out" && grep -q "target:  3 tokens (2 generated)" "$tmp/out"' "info lists the target side"
expect "show default" 0 "encoder-decoder run: using its encoder attention; it also holds decoder and cross attention (--kind)" show "$run" --no-color
expect "show cross" 0 "using its cross attention (rows: target tokens, keys: source tokens)" show "$run" --kind cross --no-color --head 0
# cross head 0, row "▁Hal": 0.5 on "▁Hel" and on "lo"
check 'grep -q "Hal" "$tmp/out" && grep -q "Hel" "$tmp/out"' "show --kind cross labels rows with target and columns with source tokens"
expect "show decoder" 0 "using its decoder attention" show "$run" --kind decoder --no-color
expect "show bad kind" 2 "--kind: 'crossed' is not a kind: encoder, decoder or cross" show "$run" --kind crossed
expect "show cross of encoder run" 2 "no cross attention in this run: it holds encoder attention only (an encoder model)" show "$enc" --kind cross
expect "show encoder run" 0 "" show "$enc" --no-color
check '! grep -q "encoder-decoder" "$tmp/err"' "an ordinary run says nothing about kinds"

# heads: metrics of each kind; cross adds alignment entropy and source coverage
expect "heads cross json" 0 "" heads "$run" --kind cross --json
python3 - "$tmp/out" <<'PY' && ok || bad "heads --kind cross --json values"
import json, math, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "cross", d["kind"]
assert d["source_tokens"] == ["\u2581Hel", "lo", "</s>"] and d["target_tokens"][1] == "\u2581Hal"
h0, h1 = d["heads"]
ln2 = math.log(2)
assert abs(h0["alignment_entropy"] - ln2 / 3) < 1e-6, h0["alignment_entropy"]
want1 = (0.5 * math.log(4) + 0.5 * ln2 + 0 + ln2) / 3
assert abs(h1["alignment_entropy"] - want1) < 1e-6, h1["alignment_entropy"]
assert all(abs(a - b) < 1e-6 for a, b in zip(h0["source_coverage"], [1.5, 0.5, 1.0])), h0["source_coverage"]
assert all(abs(a - b) < 1e-6 for a, b in zip(h1["source_coverage"], [0.75, 1.25, 1.0])), h1["source_coverage"]
assert abs(h0["target_entropy"][1] - ln2) < 1e-6
assert h0["distance"] is None and h0["det_ind"] is None   # positions mean nothing across sequences
PY
expect "heads cross table" 0 "" heads "$run" --kind cross
check 'grep -q "alignment entropy" "$tmp/out"' "heads --kind cross table has the alignment section"
expect "heads decoder" 0 "" heads "$run" --kind decoder --json
check 'grep -q "\"kind\": \"decoder\"" "$tmp/out" && grep -q "\"causal\": true" "$tmp/out"' "heads --kind decoder is the causal decoder"
expect "heads default" 0 "using its encoder attention" heads "$run" --json
check 'grep -q "\"kind\": \"encoder\"" "$tmp/out"' "heads defaults to the encoder"

# rollout and flow: defined on encoder and decoder, refused on cross
expect "rollout cross" 2 "not defined over cross attention (--kind cross)" rollout "$run" --kind cross
expect "flow cross" 2 "not defined over cross attention (--kind cross)" flow "$run" --kind cross
expect "rollout decoder" 0 "using its decoder attention" rollout "$run" --kind decoder
expect "diff cross" 0 "" diff "$run" "$run" --kind cross
expect "ablate kind" 2 "--kind cross does not apply" ablate "$run" "text" --kind cross

# figures: the alignment heatmap, labelled source (x) and target (y)
expect "plot alignment png" 0 "" plot "$run" --kind alignment -o "$tmp/a.png"
check '[ "$(head -c 4 "$tmp/a.png" | od -An -c | tr -d " ")" = "211PNG" ]' "alignment PNG written"
expect "plot alignment svg" 0 "" plot "$run" --kind alignment --head 1 -o "$tmp/a.svg"
check 'grep -q ">source<" "$tmp/a.svg" && grep -q ">target<" "$tmp/a.svg" && grep -q "Hal" "$tmp/a.svg" && grep -q "Hel" "$tmp/a.svg"' "alignment SVG has both axes and token labels"
check 'grep -q "head 1" "$tmp/a.svg"' "alignment SVG title names the head"
expect "plot alignment pdf words" 0 "" plot "$run" --kind alignment --words -o "$tmp/a.pdf"
check '[ "$(head -c 4 "$tmp/a.pdf")" = "%PDF" ]' "alignment PDF written"
expect "plot cross heatmap" 0 "" plot "$run" --kind cross -o "$tmp/c.png"
expect "plot cross model view" 2 "cross-attention is drawn as the alignment heatmap" plot "$run" --kind cross --kind model -o "$tmp/m.png"
expect "plot alignment encoder run" 2 "no cross attention in this run" plot "$enc" --kind alignment -o "$tmp/e.png"
expect "plot alignment vs decoder" 2 "--kind alignment draws cross-attention, not decoder attention" plot "$run" --kind decoder --kind alignment -o "$tmp/d.png"
expect "plot decoder heatmap" 0 "using its decoder attention" plot "$run" --kind decoder -o "$tmp/d.png"
e2e_finish
