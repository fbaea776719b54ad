#!/usr/bin/env bash
# `gaze view` end to end in a real browser (Debian's chromium, headless, no network):
#   - pages of a real MiniLM sentence pair (f16, with q/k), the same under a size cap (block
#     summaries + exact layers), a live `gaze view MODEL "text"`, SmolLM2 with generated tokens
#     (the steps view), and two synthetic runs written by test_html --write-fixtures (hostile
#     tokens; a causal decoder, u8; a run with a subset of heads and query rows);
#   - each page is opened at #selftest: the viewer drives itself (layer select, head toggles,
#     hide special tokens, words, pair filter, hover, thumbnail click, q/k softmax, steps slider,
#     the rollout / flow panel's output-token select and click) and writes what it saw into the
#     DOM, which --dump-dom prints; tests/e2e/view_check.py recomputes every hovered weight from
#     the run file, every hovered rollout / flow value with `gaze rollout --json --all` and
#     `gaze flow --json`, and checks the DOM for injected markup;
#   - screenshots are PNGs with real content (set GAZE_VIEW_SHOTS=DIR to keep them).
# Needs $GAZE_BIN (ctest sets it), the fetched models and chromium (scripts/install-deps).
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_view stderr
SRC=${GAZE_SOURCE_DIR:-.}
TEST_HTML=$(dirname "$GAZE_BIN")/../tests/test_html
. "$(dirname "$0")/lib/view.sh"
e2e_need_bin
[ -x "$TEST_HTML" ] || { bad "$TEST_HTML is missing (build the tests first)"; e2e_finish; }
view_need_chromium
e2e_need_model minilm

# check NAME RUN [view_check flags]: self-test in the browser, then the checker
check() {
    local name=$1 run=$2
    shift 2
    [ -s "$tmp/$name.html" ] || { bad "$name: no page to check"; return; }
    view_selftest "$name" "file://$tmp/$name.html#selftest" "$SRC/tests/e2e/view_check.py" "$tmp/$name.html" "$run" \
        --gaze "$GAZE_BIN" "$@"
}

# 1. synthetic runs: hostile tokens (BERT-like pair, q/k) and a causal decoder with generation
if "$TEST_HTML" --write-fixtures "$tmp" >"$tmp/fixtures.out" 2>&1; then ok; else bad "test_html --write-fixtures"; cat "$tmp/fixtures.out" >&2; fi
view hostile "$tmp/hostile.safetensors"
check hostile "$tmp/hostile.safetensors" --hostile --expect pair-filter
view decoder "$tmp/decoder.safetensors" --precision u8 --view steps --flow-token all
grep -q "flow for 17 tokens" "$tmp/decoder.view.out" && ok || bad "decoder: --flow-token all did not embed the flow of all 17 tokens"
check decoder "$tmp/decoder.safetensors" --expect steps-slider --expect rollout-numbers
view decoder2 "$tmp/decoder.safetensors" --fusions max --discard 0.2 --flow-token 3,9 --flow-fusion min
check decoder2 "$tmp/decoder.safetensors"
view subset "$tmp/subset.safetensors"
check subset "$tmp/subset.safetensors" --expect steps-slider

# 1b. image runs (tiny DeiT: [CLS], [DIST] and 4 x 4 patches; tiny SigLIP: patches only, so its
# thumbnails show the mean over patch queries): the page opens on the image tab; the self-test
# hovers patches and a thumbnail, view_check recomputes every overlay value from the run file
for m in deit siglip; do
    if "$GAZE_BIN" run "$SRC/tests/fixtures/vit/$m" "$SRC/tests/fixtures/images/rgb_37x29.png" --capture attn,hidden \
        -o "$tmp/$m.safetensors" --quiet >"$tmp/$m.run.out" 2>&1; then ok; else bad "gaze run $m"; cat "$tmp/$m.run.out" >&2; fi
    view "img_$m" "$tmp/$m.safetensors"
    grep -q '"view":"image"' "$tmp/img_$m.html" && ok || bad "$m: the image run's page does not open on its image tab"
    grep -q '"image":{"h":' "$tmp/img_$m.html" && ok || bad "$m: no image in the page's metadata"
    check "img_$m" "$tmp/$m.safetensors"
done
view img_deit_u8 "$tmp/deit.safetensors" --precision u8
check img_deit_u8 "$tmp/deit.safetensors"
shot img_deit "view=image"

# 2. MiniLM, a sentence pair with q/k; then a longer input under a 1 MB cap (summaries + exact layers)
TEXT="The quick brown fox jumps over the lazy dog while the cat, unimpressed, keeps sleeping on the warm windowsill."
PAIR="Where does the cat sleep?"
if "$GAZE_BIN" run minilm "$TEXT" --pair "$PAIR" --capture attn,q,k -o "$tmp/minilm.safetensors" --quiet >"$tmp/run.out" 2>&1; then ok
else bad "gaze run minilm"; cat "$tmp/run.out" >&2; fi
view minilm "$tmp/minilm.safetensors"
check minilm "$tmp/minilm.safetensors" --expect pair-filter --expect qk-view --max-tti 3000
LONG=$(python3 -c "print(' '.join('word%d is here, and it counts.' % i for i in range(20)))")
if "$GAZE_BIN" run minilm "$LONG" --capture attn -o "$tmp/long.safetensors" --quiet >"$tmp/run2.out" 2>&1; then ok
else bad "gaze run minilm (long)"; cat "$tmp/run2.out" >&2; fi
view capped "$tmp/long.safetensors" --max-mb 1
grep -q "block means" "$tmp/capped.view.out" && ok || bad "capped: no block summaries reported"
check capped "$tmp/long.safetensors"
for h in "view=model" "view=heatmap&layer=5&head=3" "view=head&layer=2" "view=rollout" "view=rollout&token=9&hide&fusion=max"; do shot minilm "$h"; done
shot capped "view=model"
shot capped "view=heatmap&layer=3&head=1"
shot decoder "view=steps"

# 3. the live path: MODEL "text" straight to a page
view live minilm "Attention is all you need." --no-qk
grep -q "Content-Security-Policy" "$tmp/live.html" 2>/dev/null && ok || bad "live: no CSP in the page"

# 4. a real decoder with generated tokens (f32-dequantized weights: the exact path)
if [ -f "$MODELS/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
    if "$GAZE_BIN" run smollm2 "The capital of France is" --generate 6 --exact --capture attn,q,k -o "$tmp/smol.safetensors" --quiet \
        >"$tmp/smol.out" 2>&1; then
        ok
        view smol "$tmp/smol.safetensors" --view steps
        check smol "$tmp/smol.safetensors" --expect steps-slider --expect rollout-numbers --expect rollout-sink-note
        shot smol "view=steps"
        shot smol "view=rollout"
    else
        bad "gaze run smollm2 --generate"; tail -3 "$tmp/smol.out" >&2
    fi
else
    bad "SmolLM2 is not at $MODELS/smollm2 (run scripts/fetch-test-models)"
fi

# 5. refusals: bad flags and inputs exit 1..127 with a message, never a crash
for args in "view" "view $tmp/minilm.safetensors" "view $tmp/minilm.safetensors -o $tmp/x.html --precision f8" \
            "view $tmp/minilm.safetensors -o $tmp/x.html --max-mb 0" "view $tmp/nope.safetensors -o $tmp/x.html" \
            "view $tmp/minilm.safetensors -o $tmp/x.html --flow-token 999" "view $tmp/minilm.safetensors -o $tmp/x.html --discard 1" \
            "view $tmp/minilm.safetensors -o $tmp/x.html --fusions avg" "view $tmp/minilm.safetensors -o $tmp/x.html --flow-fusion all" \
            "view $tmp/minilm.safetensors -o /nonexistent-dir/x.html" "view $tmp/minilm.safetensors -o $tmp/x.html --detail-layers 9"; do
    # shellcheck disable=SC2086
    "$GAZE_BIN" $args >"$tmp/refuse.out" 2>&1
    rc=$?
    if [ $rc -ge 1 ] && [ $rc -lt 128 ] && [ -s "$tmp/refuse.out" ]; then ok; else bad "gaze $args: exit $rc"; fi
done
e2e_finish
