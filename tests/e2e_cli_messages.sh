#!/usr/bin/env bash
# Nothing is silently lost or silently wrong, and errors read as sentences:
# - a command that computes something it could save says so when it saves nothing (run, corpus,
#   merge without -o);
# - run files are recognised by their content, not by a .safetensors suffix; a missing path says
#   "no such file"; model weights are told apart from runs;
# - options that do not apply are refused (exit 2), not ignored;
# - messages carry no status enum names (GAZE_ERR_*), no doubled prefix ("gaze plot: plot:"),
#   and the system's reason (errno text) where a system call failed;
# - gaze info on an unusable model folder exits non-zero; a .gguf with a bad magic is reported as
#   "not a GGUF file"; a config.json symlinked to another file does not echo that file's bytes;
# - rollout / flow on a run without every query row say what they need (exit 2); without every
#   layer they say which layers the result goes through.
# Needs $GAZE_BIN (ctest sets it) and the fetched models (minilm, smollm2).
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_cli_messages

# check NAME WANT_RC WANT_SUBSTRING ARGS...: exit code and a substring of stderr; stderr never
# carries an enum name or a doubled command prefix, and a failure never crashes.
check() {
    local name=$1 want_rc=$2 want=$3
    shift 3
    "$BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$want_rc" ]; then bad "$name: exit $rc, want $want_rc ($(head -c 300 "$tmp/err"))"; return 1; fi
    if [ -n "$want" ] && ! grep -qF -- "$want" "$tmp/err"; then bad "$name: stderr lacks '$want': $(head -c 300 "$tmp/err")"; return 1; fi
    if grep -qE 'GAZE_(ERR|OK)' "$tmp/err"; then bad "$name: enum name in the message: $(head -c 300 "$tmp/err")"; return 1; fi
    if grep -qE 'gaze ([a-z]+): \1:' "$tmp/err"; then bad "$name: doubled prefix: $(head -c 300 "$tmp/err")"; return 1; fi
    ok
}
lacks() { if grep -qF -- "$2" "$tmp/$3"; then bad "$1: $3 has '$2'"; else ok; fi; }

e2e_need_model minilm smollm2

# 1. Never silent without -o.
check run_no_out 0 "nothing saved (give -o FILE" run minilm "the cat sat"
grep -qF "[CLS] the cat sat [SEP]" "$tmp/out" && ok || bad "run_no_out: tokens not printed"
check run_no_out_quiet 0 "nothing saved" run minilm "the cat sat" -q
check run_out 0 "" run minilm "the cat sat on the mat" -o "$tmp/run.safetensors"
lacks run_out "nothing saved" err
printf 'the cat sat\na dog ran\n' >"$tmp/corpus.txt"
check corpus_no_out 0 "not saved (give -o FILE" corpus minilm "$tmp/corpus.txt" -q
check corpus_out 0 "" corpus minilm "$tmp/corpus.txt" -q -o "$tmp/stats.json"
lacks corpus_out "not saved" err
check merge_no_out 0 "not saved (give -o FILE" merge "$tmp/stats.json"

# 2. Run files by content, whatever their name.
cp "$tmp/run.safetensors" "$tmp/run.bin"
cp "$tmp/run.safetensors" "$tmp/run"
check show_bin 0 "" show "$tmp/run.bin" --no-color
check heads_bin 0 "" heads "$tmp/run.bin"
check rollout_noext 0 "" rollout "$tmp/run"
check flow_bin 0 "" flow "$tmp/run.bin"
check view_bin 0 "" view "$tmp/run.bin" -o "$tmp/v.html"
check plot_bin 0 "" plot "$tmp/run.bin" -o "$tmp/p.png"
check diff_bin 0 "" diff "$tmp/run.bin" "$tmp/run"
check show_missing 2 "no such file" show "$tmp/nothing.safetensors"
lacks show_missing "not a run file" err
check rollout_missing 2 "no such file" rollout "$tmp/nothing"
check heads_weights 2 "without gaze metadata" heads "$MODELS/minilm/model.safetensors"
check show_model 2 "is a model, not a run file" show minilm
printf 'not a safetensors file' >"$tmp/junk.safetensors"
check show_junk 1 "not a gaze run file" show "$tmp/junk.safetensors"

# 3. Options that do not apply.
check generate_encoder 2 "--generate is for decoders" run minilm "hi" --generate 3
check pair_decoder 2 "--pair is for encoders" run smollm2 "hi" --pair "there"
check maxlen_decoder 2 "--max-len is for encoders" run smollm2 "hi" --max-len 8
check temp_no_generate 2 "--temperature applies to generation" run smollm2 "hi" --temperature 0.7
check topp_greedy 2 "--top-p applies to sampling" run smollm2 "hi" --generate 2 --top-p 0.9
check seed_no_generate 2 "--seed applies to generation" run smollm2 "hi" --seed 3
check pair_on_run 2 "--pair applies to a model run" heads "$tmp/run.bin" --pair "x"
check exact_on_run 2 "--exact applies to a model run" rollout "$tmp/run.bin" --exact
check show_pair_run 2 "--pair applies to a model run" show "$tmp/run.bin" --pair "x"
check view_generate_encoder 2 "--generate is for decoders" view minilm "hi" --generate 2 -o "$tmp/v2.html"
check gridplot_no_grid 2 "--grid-plot draws the --grid" heads "$tmp/run.bin" --grid-plot "$tmp/g.png"
check grid_and_json 2 "choose one" heads "$tmp/run.bin" --grid entropy --json
check diff_layer_no_plot 2 "give --plot FILE too" diff "$tmp/run.bin" "$tmp/run" --layer 2
check checkpoint_no_out 2 "--checkpoint" corpus minilm "$tmp/corpus.txt" --checkpoint 5
check f16_no_out 2 "--f16 sets how -o FILE stores" run minilm "hi" --f16
check json_and_csv 2 "choose one" rollout "$tmp/run.bin" --json --csv
check ascii_json 2 "--ascii draws the bars" flow "$tmp/run.bin" --ascii --json
check induction_flag 2 "--seq-len applies to --induction" heads "$tmp/run.bin" --seq-len 10

# 4. Messages: no enum names, no doubled prefix, errno text.
check model_enotdir 1 "Not a directory" run /etc/hostname/model "hi"
"$BIN" run minilm "the cat" --layers 5 -q -o "$tmp/r5.safetensors" 2>/dev/null
check plot_layer_not_captured 2 "layer 3" plot "$tmp/r5.safetensors" -o "$tmp/p.png" --layer 3
check fetch_unknown 1 "gaze fetch: unknown model" fetch no-such-model
check info_missing 1 "no such file" info "$tmp/nothing"

# 5. gaze info on an unusable folder, a .gguf with a bad magic, a symlinked config.json.
mkdir -p "$tmp/empty" "$tmp/cfgonly"
printf '{"model_type": "bert", "hidden_size": 8}' >"$tmp/cfgonly/config.json"
check info_empty_folder 1 "not a model folder (no config.json" info "$tmp/empty"
check info_cfg_only 1 "not a usable model folder: no model.safetensors" info "$tmp/cfgonly"
printf 'XXXXthis is not gguf at all' >"$tmp/bad.gguf"
check info_bad_gguf 1 "bad.gguf: not a GGUF file (bad magic" info "$tmp/bad.gguf"
lacks info_bad_gguf "header length" err
check run_bad_gguf 1 "not a GGUF file (bad magic" run "$tmp/bad.gguf" "hi"
printf 'rootsecretvalue:$6$SECRETHASH:19000:0:99999:7:::\n' >"$tmp/shadow"
mkdir -p "$tmp/linked"
ln -s "$tmp/shadow" "$tmp/linked/config.json"
check info_symlink_config 1 "config.json: invalid JSON at offset" info "$tmp/linked"
lacks info_symlink_config "rootsecret" err
check run_symlink_config 1 "invalid JSON" run "$tmp/linked" "hi"
lacks run_symlink_config "rootsecret" err

# 6. Rollout / flow on a run without every query row (a run file written with Python's standard
#    library, as another tool would): refused; without every layer: computed, with a note.
python3 - "$tmp" <<'EOF'
import json, struct, sys
d = sys.argv[1]
T, H, rows = 4, 2, [0, 3]
attn = []
for h in range(H):
    for i in rows:
        attn += [1.0 / T] * T
meta = {"gaze.format_version": "1", "gaze.model": "hand-made", "gaze.arch": "bert", "gaze.causal": "false",
        "gaze.n_layers": "1", "gaze.n_heads": str(H), "gaze.n_kv_heads": str(H),
        "gaze.tokens": json.dumps(["[CLS]", "a", "b", "[SEP]"]), "gaze.text": "a b", "gaze.q_rows": json.dumps(rows)}
hdr, blob = {"__metadata__": meta}, b""
for name, dtype, shape, data in [("token_ids", "I32", [T], struct.pack("<4i", 101, 1, 2, 102)),
                                 ("attention.0", "F32", [H, len(rows), T], struct.pack("<%df" % len(attn), *attn))]:
    hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
    blob += data
h = json.dumps(hdr).encode()
h += b" " * (-(8 + len(h)) % 8)
open(d + "/partial.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + blob)
EOF
check rollout_partial_rows 2 "needs the attention of every query row, and this run holds 2 of its 4 rows" rollout "$tmp/partial.safetensors"
lacks rollout_partial_rows "out of memory" err
check flow_partial_rows 2 "every query row" flow "$tmp/partial.safetensors"
check rollout_partial_layers 0 "note: the run holds 1 of 6 layers (5)" rollout "$tmp/r5.safetensors"
check flow_partial_layers 0 "run the model again without --layers" flow "$tmp/r5.safetensors"

e2e_finish
