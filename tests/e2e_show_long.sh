#!/usr/bin/env bash
# `gaze show` stays readable at 120+ tokens in a 160-column terminal: no line wider than 160
# columns, numbered columns with a legend mapping each number to its token, row blocks labelled
# with their range and tokens, --from/--to windows, --hide-special, the sink note on a decoder
# (SmolLM2: BOS-like first token) and --scale renorm, whitespace shown as ␣ in the labels, and
# the ASCII ramp explained under --no-color.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_show_long
e2e_need_model minilm smollm2
has() { if grep -qF -- "$2" "$tmp/$1"; then ok; else bad "$1: output lacks '$2'"; head -12 "$tmp/$1"; fi; }
hasre() { if grep -qE -- "$2" "$tmp/$1"; then ok; else bad "$1: output lacks /$2/"; head -12 "$tmp/$1"; fi; }
lacks() { if grep -qF -- "$2" "$tmp/$1"; then bad "$1: output has '$2'"; else ok; fi; }

# Display columns of the widest line (East Asian wide characters count 2), ESC-free output.
widest() {
    python3 - "$1" <<'EOF'
import sys, unicodedata
w = 0
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    w = max(w, sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in line))
print(w)
EOF
}

TEXT="The cat sat on the mat because it was tired. The dog, however, kept barking at the mailman who walked past the old house every morning at nine. Nobody in the village remembered when the house had last been painted, but everyone agreed that its blue door was the brightest thing on the street. Children dared each other to knock on it after school, and then ran away laughing while the old man shouted from the window that he would tell their parents everything about it tomorrow. She never answered the door, of course, and the children kept coming back every week. Years later, one of them bought it."
"$BIN" run minilm "$TEXT" -o "$tmp/m.safetensors" >"$tmp/run.out" 2>&1 || { cat "$tmp/run.out"; exit 1; }
T=$(grep -oE '[0-9]+ tokens' "$tmp/run.out" | head -1 | cut -d' ' -f1)
if [ "${T:-0}" -ge 120 ]; then ok; else bad "the MiniLM run has ${T:-?} tokens, want >= 120"; fi

# 1. Defaults at 160 columns (COLUMNS, as a terminal of that width says; and --width).
COLUMNS=160 "$BIN" show "$tmp/m.safetensors" --no-color >"$tmp/full" 2>&1; rc=$?
[ $rc -eq 0 ] && ok || bad "show exit code $rc"
"$BIN" show "$tmp/m.safetensors" --no-color --width 160 --layer 3 --head 5 >"$tmp/w160" 2>&1 || bad "show --width 160"
for f in full w160; do
    w=$(widest "$tmp/$f")
    if [ "$w" -le 160 ]; then ok; else bad "$f: a line is $w columns wide (> 160)"; fi
done
has full "columns:"
hasre full "(^|  )0 \[CLS\]  1 the  2 cat  3 sat"                          # the legend: number -> token
hasre full "  $((T - 1)) \[SEP\]"
hasre full '^ +1111111111'                                                 # numbered columns (tens digits)
hasre full '^ +0-1 "\[CLS\] the" '                                           # row blocks: range and tokens
hasre full '^ *[0-9]+-[0-9]+ "[a-z ,.]+'
has full "(${T} queries x ${T} keys in"
has full "scale: ' ' 0, '.' 1/8"                                           # --no-color: the ramp explained
has full "'@' 1 of"
has full "top attended keys per query:"
hasre full '^ +5 the +-> '

# 2. --from/--to: a window of rows and columns, numbered by the tokens' own indices.
"$BIN" show "$tmp/m.safetensors" --no-color --width 160 --from 10 --to 40 --top 0 >"$tmp/win" 2>&1 || bad "show --from/--to"
has win "tokens 10..40 of $T"
hasre win '^10 tired '
hasre win '^40 the '
lacks win "  9 was"
lacks win "  41 house"
hasre win '^columns:  10 tired  11 \.'
if [ "$(grep -cE '^[0-9]+ [^0-9 ]' "$tmp/win")" -eq 31 ]; then ok; else bad "window: $(grep -cE '^[0-9]+ [^0-9 ]' "$tmp/win") rows, want 31"; fi
"$BIN" show "$tmp/m.safetensors" --no-color --from 50 --to 20 >"$tmp/empty" 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "--from after --to: exit code $rc, want 2"
has empty "no token in that window"

# 3. --hide-special: [CLS] and [SEP] gone from rows and legend, rows renormalised.
"$BIN" show "$tmp/m.safetensors" --no-color --width 160 --hide-special >"$tmp/hide" 2>&1 || bad "show --hide-special"
has hide "2 special tokens hidden: rows renormalised over the keys shown"
lacks hide "[CLS]"
lacks hide "[SEP]"
hasre hide '^columns:  1 the  2 cat'
w=$(widest "$tmp/hide"); [ "$w" -le 160 ] && ok || bad "hide: a line is $w columns wide"

# 4. A decoder: the first token is an attention sink; the note says so and --scale renorm
#    leaves it out. Leading spaces are shown as ␣.
"$BIN" run smollm2 "$TEXT" -o "$tmp/s.safetensors" >"$tmp/srun.out" 2>&1 || { cat "$tmp/srun.out"; bad "smollm2 run"; }
"$BIN" show "$tmp/s.safetensors" --no-color --width 160 >"$tmp/smol" 2>&1 || bad "show smollm2"
hasre smol '^note: key 0 "The" takes [0-9]+% of the weight shown \(an attention sink\)'
has smol "--scale log or --scale renorm"
has smol "1 ␣cat  2 ␣sat"
w=$(widest "$tmp/smol"); [ "$w" -le 160 ] && ok || bad "smollm2: a line is $w columns wide"
"$BIN" show "$tmp/s.safetensors" --no-color --width 160 --scale renorm >"$tmp/renorm" 2>&1 || bad "show --scale renorm"
hasre renorm '^key 0 "The" \(the sink, [0-9]+% of the weight shown\) left out: rows renormalised over the other keys'
hasre renorm '^columns:  1 ␣cat'
lacks renorm "attention sink)"
"$BIN" show "$tmp/s.safetensors" --no-color --width 160 --scale log >"$tmp/log" 2>&1 || bad "show --scale log"
lacks log "note: key 0"
has log "(log: log(1 + 99 w/max) / log 100)"
"$BIN" show "$tmp/s.safetensors" --scale nope >"$tmp/nope" 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "--scale nope: exit code $rc, want 2"

# 5. Short inputs keep the compact layout: token columns written downwards, no legend.
"$BIN" show minilm "hello world" --no-color --layer 0 >"$tmp/short" 2>&1 || bad "short show"
lacks short "columns:"
hasre short '^ +\[CLS\]  '

e2e_finish
