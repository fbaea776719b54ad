#!/usr/bin/env bash
# `gaze plot` end to end on a real MiniLM run: every kind in every format (file written,
# non-empty, right signature; SVG through xmllint; the same bytes when run twice), text as
# text (SVG <text>, PDF text through pdftotext, CJK tokens included), the
# filters and transforms, a live model, and bad arguments: a non-zero exit code (2 for usage,
# 1 for a bad file), a message, never a crash (exit >= 128) and no output file left behind.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_plot

# A figure: exit code 0, file non-empty with the format's signature.
figure() {   # figure OUT ARGS...
    local out=$1; shift
    local msg rc
    msg=$("$BIN" plot "$@" -o "$out" 2>&1); rc=$?
    if [ "$rc" -ne 0 ]; then bad "plot $* -o $out: exit $rc: $msg"; return; fi
    if [ ! -s "$out" ]; then bad "plot $* -o $out: no file"; return; fi
    case "$out" in
        *.png) if [ "$(head -c 8 "$out" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; then ok; else bad "$out: not a PNG"; fi ;;
        *.svg) if xmllint --noout "$out" 2>/dev/null; then ok; else bad "$out: xmllint refuses it"; fi ;;
        *.pdf) if [ "$(head -c 5 "$out")" = "%PDF-" ]; then ok; else bad "$out: not a PDF"; fi ;;
    esac
}

# A refused command: exit code want (1 or 2), a message on stderr, no crash, no file.
refused() {   # refused WANT OUT ARGS...
    local want=$1 out=$2; shift 2
    local err rc
    err=$("$BIN" plot "$@" -o "$out" 2>&1 >/dev/null); rc=$?
    if [ "$rc" -ne "$want" ]; then bad "plot $*: exit $rc, want $want ($err)"; return; fi
    if [ -z "$err" ]; then bad "plot $*: no message"; return; fi
    if [ -e "$out" ]; then bad "plot $*: left $out behind"; return; fi
    if ls "$out".tmp-* >/dev/null 2>&1; then bad "plot $*: left a temporary file"; return; fi
    ok
}

e2e_need_model minilm
TEXT="The quick brown fox jumps over the unbelievably lazy dog."
if "$BIN" run "$MODELS/minilm" "$TEXT" -o "$tmp/run.safetensors" --quiet >/dev/null 2>&1; then ok; else bad "gaze run minilm"; fi
run=$tmp/run.safetensors

# 1. every kind in every format, deterministic across processes
for kind in heatmap model head bars; do
    for fmt in png svg pdf; do
        figure "$tmp/$kind.$fmt" "$run" --kind "$kind"
        "$BIN" plot "$run" --kind "$kind" -o "$tmp/again.$fmt" >/dev/null 2>&1
        if cmp -s "$tmp/$kind.$fmt" "$tmp/again.$fmt"; then ok; else bad "$kind.$fmt differs between two runs"; fi
    done
done

# 2. filters, transforms, palettes
figure "$tmp/h1.png" "$run" --layer 2 --head 3
figure "$tmp/h2.svg" "$run" --layer 0 --head max --log --palette magma
figure "$tmp/h3.pdf" "$run" --heads 0,3,5 --head mean --palette cividis --hide-special --words
figure "$tmp/h4.png" "$run" --kind head --heads 0,3,5 --query 3
figure "$tmp/h5.svg" "$run" --kind head --head 7 --words --hide-special
figure "$tmp/h6.png" "$run" --kind bars --query 4 --head 1 --palette diverging
figure "$tmp/h7.pdf" "$run" --kind model --head mean --words
figure "$tmp/h8.png" "$run" --kind model --layer 1 --heads 2-4
figure "$tmp/h9.png" "$run" --diff "$run" --layer 3
figure "$tmp/h10.svg" "$run" --kind model --diff "$run" --max-px 800
figure "$tmp/h11.png" "$run" --title 'a <title> & "quotes"' --vmax 0.5
out=$("$BIN" plot "$run" --max-px 300 -o "$tmp/small.png" 2>&1)
if grep -q "blocks" <<<"$out"; then ok; else bad "--max-px 300 should draw blocks and say so: $out"; fi

# 3. a live model, like gaze show
figure "$tmp/live.png" "$MODELS/minilm" "Attention is all you need." --layer 1 --kind head

# 3b. text is real text: SVG <text> elements hold the tokens, title and axis names (no glyph
# outlines); the PDF's text extracts; CJK tokens (日 and 本 are in MiniLM's vocabulary) too
"$BIN" run "$MODELS/minilm" "The cat sat on 日本 mats." -o "$tmp/cjk.safetensors" --quiet >/dev/null 2>&1 || bad "gaze run minilm (CJK)"
figure "$tmp/cjk.svg" "$tmp/cjk.safetensors"
figure "$tmp/cjk.pdf" "$tmp/cjk.safetensors"
for want in '>minilm · layer 5 · mean of 12 heads</text>' '>queries</text>' '>keys</text>' '>cat</text>' '>日</text>' '>本</text>' '>[CLS]</text>'; do
    if grep -qF -- "$want" "$tmp/cjk.svg"; then ok; else bad "cjk.svg lacks $want"; fi
done
if grep -q '<symbol\|glyph' "$tmp/cjk.svg"; then bad "cjk.svg draws text as glyph outlines"; else ok; fi
if [ "$(grep -c '<text' "$tmp/heatmap.svg")" -ge 30 ]; then ok; else bad "heatmap.svg: too few <text> elements"; fi
if grep -qF '>jumps</text>' "$tmp/heatmap.svg" && grep -qF '>lazy</text>' "$tmp/bars.svg" && grep -qF '>fox</text>' "$tmp/head.svg"; then ok
else bad "MiniLM figures' SVG lacks token labels as text"; fi
if command -v pdftotext >/dev/null; then
    txt=$(pdftotext -enc UTF-8 "$tmp/cjk.pdf" - 2>&1)
    for want in 'minilm · layer 5' queries keys cat 日 本; do
        if grep -qF -- "$want" <<<"$txt"; then ok; else bad "cjk.pdf text lacks $want"; fi
    done
    if pdftotext "$tmp/bars.pdf" - 2>/dev/null | grep -q "unbelievably\|lazy"; then ok; else bad "bars.pdf text lacks the tokens"; fi
else
    bad "pdftotext missing (poppler-utils, scripts/install-deps)"
fi
"$BIN" plot "$tmp/cjk.safetensors" -o "$tmp/cjk2.svg" >/dev/null 2>&1
if cmp -s "$tmp/cjk.svg" "$tmp/cjk2.svg"; then ok; else bad "cjk.svg differs between two runs"; fi

# 4. bad arguments and files
refused 2 "$tmp/x.png" "$run" --kind pie
refused 2 "$tmp/x.png" "$run" --layer 99
refused 2 "$tmp/x.png" "$run" --layer -1
refused 2 "$tmp/x.png" "$run" --head 99
refused 2 "$tmp/x.png" "$run" --head foo
refused 2 "$tmp/x.png" "$run" --heads 0,99
refused 2 "$tmp/x.png" "$run" --query 999
refused 2 "$tmp/x.png" "$run" --query 0 --hide-special --kind bars
refused 2 "$tmp/x.png" "$run" --palette jet
refused 2 "$tmp/x.png" "$run" --max-px 10
refused 2 "$tmp/x.png" "$run" --vmax -1
refused 2 "$tmp/x.png" "$run" --bogus
refused 2 "$tmp/x.png" "$run" --kind head --diff "$run"
refused 2 "$tmp/x.gif" "$run"
refused 2 "$tmp/x.png" "$tmp/missing.safetensors"
printf 'not a safetensors file at all' > "$tmp/corrupt.safetensors"
refused 1 "$tmp/x.png" "$tmp/corrupt.safetensors"
"$BIN" run "$MODELS/minilm" "A different sentence." -o "$tmp/other.safetensors" --quiet >/dev/null 2>&1
refused 2 "$tmp/x.png" "$run" --diff "$tmp/other.safetensors"
err=$("$BIN" plot "$run" 2>&1); rc=$?
if [ "$rc" -eq 2 ] && grep -q -- "-o" <<<"$err"; then ok; else bad "missing -o: exit $rc ($err)"; fi
err=$("$BIN" plot "$run" -o "$tmp/no/such/dir/x.png" 2>&1); rc=$?
if [ "$rc" -eq 1 ] && [ -n "$err" ]; then ok; else bad "unwritable output: exit $rc ($err)"; fi

# 5. figures for a paper: sized for print, masked cells and boundaries named, diffs of every
# pair gaze diff's table accepts
png_width() { od -An -tu1 -j16 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }
figure "$tmp/w.pdf" "$run" --width 3.25in
if pdfinfo "$tmp/w.pdf" 2>/dev/null | grep -q "Page size: *234 x"; then ok; else bad "--width 3.25in: PDF not 234 pt wide: $(pdfinfo "$tmp/w.pdf" 2>&1 | grep 'Page size')"; fi
figure "$tmp/w.png" "$run" --width 6.75in --dpi 200
if [ "$(png_width "$tmp/w.png")" = 1350 ]; then ok; else bad "--width 6.75in --dpi 200: PNG $(png_width "$tmp/w.png") px wide, want 1350"; fi
figure "$tmp/w2.png" "$run" --width 8cm
if [ "$(png_width "$tmp/w2.png")" = 945 ]; then ok; else bad "--width 8cm: PNG $(png_width "$tmp/w2.png") px wide, want 945 (300 dpi)"; fi
refused 2 "$tmp/x.png" "$run" --width 3.25
refused 2 "$tmp/x.png" "$run" --width 0.1in
refused 2 "$tmp/x.png" "$run" --dpi 10
refused 2 "$tmp/x.svg" "$run" --dpi 300
if [ -f "$MODELS/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
    "$BIN" run smollm2 "The capital of France is" --generate 3 -o "$tmp/smol.safetensors" --quiet >/dev/null 2>&1 || bad "gaze run smollm2 --generate"
    figure "$tmp/smol.svg" "$tmp/smol.safetensors"
    for want in '>generated</text>' 'masked (key after the query)'; do
        if grep -qF -- "$want" "$tmp/smol.svg"; then ok; else bad "smol.svg lacks $want"; fi
    done
    err=$("$BIN" plot "$tmp/smol.safetensors" --kind head -o "$tmp/smolhead.svg" 2>&1 >/dev/null)
    if grep -q "of 9: most attention off token 0" <<<"$err" && grep -qF "6 of 9 heads" "$tmp/smolhead.svg"; then ok
    else bad "head view of 9 heads: stderr '$err'"; fi
    out=$("$BIN" rollout "$tmp/smol.safetensors" 2>&1)
    if grep -q "collapsed onto token 0 (attention sink)" <<<"$out" && grep -q "sink-aware rollout" <<<"$out" && grep -q "e-0" <<<"$out"; then ok
    else bad "rollout on SmolLM2: no collapse note, sink-aware bars or scientific values: $out"; fi
else
    bad "SmolLM2 is not at $MODELS/smollm2 (run scripts/fetch-test-models)"
fi
# two texts of the same length, one run saved as f16: the table and the figure both
"$BIN" run "$MODELS/minilm" "The cat sat on the mat." -o "$tmp/da.safetensors" --quiet >/dev/null 2>&1
"$BIN" run "$MODELS/minilm" "The dog lay on the rug." -o "$tmp/db.safetensors" --f16 --quiet >/dev/null 2>&1
out=$("$BIN" diff "$tmp/da.safetensors" "$tmp/db.safetensors" --plot "$tmp/d.png" 2>&1); rc=$?
if [ "$rc" -eq 0 ] && [ -s "$tmp/d.png" ] && grep -q "wrote $tmp/d.png" <<<"$out"; then ok; else bad "diff --plot, other tokens, f16: exit $rc: $out"; fi
figure "$tmp/d2.svg" "$tmp/da.safetensors" --diff "$tmp/db.safetensors"
if grep -qF "tokens differ" "$tmp/d2.svg"; then ok; else bad "d2.svg does not say the tokens differ"; fi
out=$("$BIN" diff "$tmp/da.safetensors" "$tmp/db.safetensors" --plot "$tmp/d.gif" 2>&1); rc=$?
if [ "$rc" -eq 2 ] && ! grep -q "Jensen" <<<"$out"; then ok; else bad "diff --plot x.gif: exit $rc, want 2 before any work: $out"; fi
out=$("$BIN" diff "$tmp/da.safetensors" "$tmp/db.safetensors" --plot "$tmp/d3.png" --layer 42 2>&1); rc=$?
if [ "$rc" -eq 2 ] && grep -q "needs --layer 42" <<<"$out" && ! grep -q "Jensen" <<<"$out"; then ok; else bad "diff --plot --layer 42: exit $rc: $out"; fi

e2e_finish
