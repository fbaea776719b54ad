#!/usr/bin/env bash
# End to end: `gaze run --summary` stores attention summaries that info, show, heads, plot and
# view read; --summary-above switches to them on its own, saying so; a run saved with both
# weights and summaries agrees with itself; full-weight runs are drawn as before.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_summary stderr
e2e_need_bin
e2e_need_model smollm2 minilm

run() {   # run NAME WANT_RC CMD...
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/$name.out" 2>&1
    local rc=$?
    if [ "$want" = 0 ] && [ $rc -ne 0 ]; then bad "$name: exit $rc, want 0"; sed 's/^/    /' "$tmp/$name.out" | head -20 >&2; return 1; fi
    if [ "$want" = nz ] && { [ $rc -eq 0 ] || [ $rc -ge 128 ]; }; then bad "$name: exit $rc, want 1..127"; head -5 "$tmp/$name.out" >&2; return 1; fi
    ok
}
has() { if grep -qF -- "$2" "$tmp/$1.out"; then ok; else bad "$1: output lacks '$2'"; sed 's/^/    /' "$tmp/$1.out" | head -20 >&2; fi; }
lacks() { if grep -qF -- "$2" "$tmp/$1.out"; then bad "$1: output has '$2'"; else ok; fi; }

SM=$MODELS/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
TEXT="The cat sat on the mat because the mat was warm and the cat was tired of the long day."
run run_sum 0 "$BIN" run "$SM" "$TEXT" --summary --summary-block 4 --summary-k 5 --layers 0,29 -o "$tmp/s.safetensors"
has run_sum "summaries: entropy, top-5 keys, sink, local window 16, 4x4 block"
lacks run_sum "summary-above"     # asked for: no note about switching
run info_sum 0 "$BIN" info "$tmp/s.safetensors"
run show_sum 0 "$BIN" show "$tmp/s.safetensors" --no-color --layer 29
has show_sum "attention summaries (top-5 keys, local window 16, 4x4 blocks)"
has show_sum "summary  layer 29, mean over heads"
run show_head 0 "$BIN" show "$tmp/s.safetensors" --no-color --layer 0 --head 8
has show_head "summary  layer 0, head 8"
run heads_sum 0 "$BIN" heads "$tmp/s.safetensors"
has heads_sum "holds attention summaries, not full weights"
run plot_sum 0 "$BIN" plot "$tmp/s.safetensors" -o "$tmp/s.png"
has plot_sum 'labelled "summary"'
check '[ -s "$tmp/s.png" ]' "plot wrote no figure"
run view_sum 0 "$BIN" view "$tmp/s.safetensors" -o "$tmp/s.html"
check 'grep -qF "\"title\":\"summary \\u00b7 SmolLM2" "$tmp/s.html"' "the page is not labelled summary"

# both: the summaries' entropy and max weight equal the weights' own (gaze heads, 2 decimals)
run run_both 0 "$BIN" run "$SM" "$TEXT" --summary --capture attn --layers 5 -o "$tmp/b.safetensors"
run heads_full 0 "$BIN" heads "$tmp/b.safetensors" --csv
run run_only 0 "$BIN" run "$SM" "$TEXT" --summary --layers 5 -o "$tmp/o.safetensors"
run heads_only 0 "$BIN" heads "$tmp/o.safetensors" --csv
cut -d, -f1-3,6 "$tmp/heads_full.out" | grep -v '^gaze' >"$tmp/a.csv"
cut -d, -f1-3,6 "$tmp/heads_only.out" | grep -v '^gaze' >"$tmp/c.csv"
check 'cmp -s "$tmp/a.csv" "$tmp/c.csv" && [ "$(wc -l <"$tmp/a.csv")" -ge 9 ]' "max_weight from summaries differs from the weights' own"
run show_both 0 "$BIN" show "$tmp/b.safetensors" --no-color
has show_both "attention summaries (top-8 keys"

# automatic: above --summary-above the run keeps summaries, and says so
run run_auto 0 "$BIN" run "$SM" "$TEXT" --summary-above 1K --layers 1 -o "$tmp/a.safetensors"
has run_auto "captured attention summaries instead"
run show_auto 0 "$BIN" show "$tmp/a.safetensors" --no-color
has show_auto "summary  layer 1"
# below it: full weights as before
run run_full 0 "$BIN" run "$SM" "$TEXT" --layers 1 -o "$tmp/f.safetensors"
lacks run_full "summaries"
run show_full 0 "$BIN" show "$tmp/f.safetensors" --no-color
lacks show_full "summary"

# bad values are refused by name
run bad_block nz "$BIN" run "$SM" "$TEXT" --summary-block 48
has bad_block "--summary-block"
run bad_k nz "$BIN" run "$SM" "$TEXT" --summary-k 0
# an encoder too
run run_bert 0 "$BIN" run "$MODELS/minilm" "hello world" --summary -o "$tmp/m.safetensors"
run show_bert 0 "$BIN" show "$tmp/m.safetensors" --no-color
has show_bert "summary  layer 5"
e2e_finish
