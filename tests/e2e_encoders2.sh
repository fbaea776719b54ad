#!/usr/bin/env bash
# ModernBERT end to end on the committed tiny folders (tests/fixtures/encoders): `gaze run` writes
# a run file whose metadata records each layer's window, `gaze show` reads it, `gaze info` lists
# the local and global layers with their RoPE bases; a text past the positions and a pair are
# refused by name.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_encoders2
e2e_need_bin
MB=tests/fixtures/encoders/modernbert

out=$("$BIN" run "$MB" "Hello world, twice: hello world." -o "$tmp/mb.safetensors" --capture attn,hidden 2>"$tmp/err"); rc=$?
check '[ $rc -eq 0 ] && [ -s "$tmp/mb.safetensors" ]' "run modernbert: exit $rc: $(cat "$tmp/err")"
check 'grep -q "modernbert, 4 layers x 2 heads" <<<"$out$(cat "$tmp/err")"' "run summary names the family: $out"
win=$(e2e_run_meta "$tmp/mb.safetensors" encoder.sliding_window)
check '[ "$win" = "[0,128,128,0]" ]' "encoder.sliding_window in the run file: $win"
"$BIN" show "$tmp/mb.safetensors" >/dev/null 2>&1; rc=$?
check '[ $rc -eq 0 ]' "gaze show reads a modernbert run: exit $rc"
out=$("$BIN" info "$MB" 2>&1); rc=$?
check '[ $rc -eq 0 ] && grep -q "modernbert" <<<"$out"' "gaze info on the folder: exit $rc: $out"
check 'grep -q "2 local (sliding window 128, rope base 10000): 1-2" <<<"$out" && grep -q "2 global (rope base 160000): 0, 3" <<<"$out"' \
      "gaze info lists local and global layers: $out"
err=$("$BIN" run "$MB" "a" --pair "b" -o "$tmp/p.safetensors" 2>&1 >/dev/null); rc=$?
check '[ $rc -ne 0 ] && grep -q "pairs are not supported" <<<"$err" && [ ! -e "$tmp/p.safetensors" ]' "pair refused: exit $rc: $err"
long=$(python3 -c 'print("word " * 700)')
err=$("$BIN" run "$MB" "$long" -o "$tmp/l.safetensors" 2>&1 >/dev/null); rc=$?
check '[ $rc -ne 0 ] && grep -q "512 positions" <<<"$err"' "text past the positions refused: exit $rc: $err"
e2e_finish
