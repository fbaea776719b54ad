#!/usr/bin/env bash
# Long inputs: the commands that take text read it from a file with -f FILE or from standard
# input with -f - (a command line tops out near 128 KiB a word): run, show, heads, rollout, flow,
# view, plot, ablate. The text is checked: valid UTF-8, no NUL byte, not empty, at most 64 MiB,
# not given twice; one trailing newline is dropped, so -f and the same text as an argument give
# the same tokens.
# Needs $GAZE_BIN (ctest sets it) and the fetched minilm model.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_cli_textfile

e2e_need_model minilm

# check NAME WANT_RC WANT_SUBSTRING(stdout+stderr) ARGS...
check() {
    local name=$1 want_rc=$2 want=$3
    shift 3
    "$BIN" "$@" >"$tmp/out" 2>&1 </dev/null
    local rc=$?
    if [ "$rc" -ne "$want_rc" ]; then bad "$name: exit $rc, want $want_rc ($(head -c 300 "$tmp/out"))"; return 1; fi
    if [ -n "$want" ] && ! grep -qF -- "$want" "$tmp/out"; then bad "$name: output lacks '$want': $(head -c 300 "$tmp/out")"; return 1; fi
    ok
}

printf 'The cat sat on the mat.\n' >"$tmp/t.txt"
check run_f 0 "[CLS] the cat sat on the mat . [SEP]" run minilm -f "$tmp/t.txt"
"$BIN" run minilm "The cat sat on the mat." 2>/dev/null >"$tmp/arg.out"
"$BIN" run minilm -f "$tmp/t.txt" 2>/dev/null >"$tmp/file.out"
if cmp -s "$tmp/arg.out" "$tmp/file.out"; then ok; else bad "run -f and the same text as an argument differ"; fi
out=$(printf 'The dog ran.' | "$BIN" run minilm -f - 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -qF "[CLS] the dog ran . [SEP]" <<<"$out"; then ok; else bad "run -f - (stdin): rc $rc: $out"; fi
check run_f_out 0 "" run minilm -f "$tmp/t.txt" -o "$tmp/r.safetensors" -q
out=$("$BIN" info "$tmp/r.safetensors" 2>&1)
if grep -qF 'text:    "The cat sat on the mat."' <<<"$out"; then ok; else bad "the run file's text is not the file's: $(grep text: <<<"$out")"; fi

for c in show heads rollout flow ablate; do
    check "${c}_f" 0 "" "$c" minilm -f "$tmp/t.txt"
done
check view_f 0 "wrote" view minilm -f "$tmp/t.txt" -o "$tmp/v.html" --no-qk
check plot_f 0 "wrote" plot minilm -f "$tmp/t.txt" -o "$tmp/p.png"

# Longer than any command line: 300 KB of text (an argument this long fails with E2BIG).
python3 -c "import sys; sys.stdout.write('the cat sat on the mat. ' * 12500)" >"$tmp/long.txt"
check run_long 0 "tokens" run minilm -f "$tmp/long.txt" --truncate --max-len 64
out=$("$BIN" run minilm -f - --truncate --max-len 64 <"$tmp/long.txt" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -qF "64 tokens" <<<"$out"; then ok; else bad "run -f - long stdin: rc $rc: $(head -c 200 <<<"$out")"; fi

# Checked input.
printf 'caf\xe9 au lait' >"$tmp/latin1.txt"
check bad_utf8 2 "not UTF-8 text: invalid byte 0xe9 at offset 3" run minilm -f "$tmp/latin1.txt"
printf 'ab\0cd' >"$tmp/nul.txt"
check nul_byte 2 "NUL byte at offset 2" run minilm -f "$tmp/nul.txt"
: >"$tmp/empty.txt"
check empty 2 "the text is empty" heads minilm -f "$tmp/empty.txt"
check missing 2 "cannot open: No such file or directory" rollout minilm -f "$tmp/nothing.txt"
check twice 2 "either as an argument or with -f FILE, not both" run minilm "hi" -f "$tmp/t.txt"
check twice_show 2 "not both" show minilm "hi" -f "$tmp/t.txt"
check folder 2 "-f $tmp" run minilm -f "$tmp"
truncate -s 65M "$tmp/huge.txt"
check too_large 2 "the text is over the limit of 64 MiB" run minilm -f "$tmp/huge.txt"
out=$("$BIN" run minilm -f - <"$tmp/huge.txt" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -qF "over the limit of 64 MiB" <<<"$out"; then ok; else bad "too large on stdin: rc $rc: $(head -c 200 <<<"$out")"; fi

e2e_finish
