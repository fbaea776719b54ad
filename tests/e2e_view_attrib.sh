#!/usr/bin/env bash
# The viewer's attribution tab (gaze view MODEL "text" --attrib) end to end in headless Chromium:
#   - MiniLM (with value zeroing) and SmolLM2 (with the logit lens) pages, each opened at
#     #view=attrib&selftest: the tab's self-test picks every method, two layers and two output
#     tokens through its selectors and clicks a heatmap row; it records the bars it showed;
#   - tests/e2e/view_attrib_check.py requires every self-test check to pass (switching method or
#     layer changes the bars and the heatmap) and compares every recorded bar with
#     `gaze explain METHOD MODEL "text" --json [--layer L] [--token I]`, and the logit lens table
#     with `gaze explain logit-lens --json`;
#   - the text holds markup and quotes: the page's own checks find no injected element;
#   - refusals: --attrib without a model, with --generate; --value-zeroing alone; --view attrib alone.
# Needs $GAZE_BIN (ctest sets it), the fetched models and chromium (scripts/install-deps).
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_view_attrib stderr
SRC=${GAZE_SOURCE_DIR:-.}
. "$(dirname "$0")/lib/view.sh"
e2e_need_bin
view_need_chromium
e2e_need_model minilm smollm2

# page NAME MODEL TEXT [view flags]: the page, its self-test in the browser, then the checker
page() {
    local name=$1 model=$2 text=$3
    shift 3
    view "$name" "$model" "$text" --attrib --threads 1 "$@" || return
    grep -q '"attrib":{' "$tmp/$name.html" && ok || bad "$name: no attributions in the page's metadata"
    view_selftest "$name" "file://$tmp/$name.html#view=attrib&selftest" "$SRC/tests/e2e/view_attrib_check.py" \
        --gaze "$GAZE_BIN" --model "$model" --text "$text"
}

page minilm minilm 'The keys to the <b>cabinet</b> are "here" & </script> there.' --value-zeroing --no-qk
grep -q "value zeroing" "$tmp/minilm.view.out" && ok || bad "minilm: value zeroing not reported"
page smol smollm2 "The keys to the cabinet" --no-qk
grep -q "logit lens" "$tmp/smol.view.out" && ok || bad "smol: the logit lens not reported"

# refusals exit 2 with a message, write nothing
"$GAZE_BIN" run minilm "Attention." --capture attn -o "$tmp/r.safetensors" --quiet >/dev/null 2>&1 || bad "gaze run minilm"
for args in "view $tmp/r.safetensors --attrib -o $tmp/x.html" "view minilm Attention. --value-zeroing -o $tmp/x.html" \
            "view minilm Attention. --view attrib -o $tmp/x.html" "view smollm2 Attention --attrib --generate 2 -o $tmp/x.html"; do
    # shellcheck disable=SC2086
    "$GAZE_BIN" $args >"$tmp/refuse.out" 2>&1
    rc=$?
    if [ $rc -eq 2 ] && [ -s "$tmp/refuse.out" ] && [ ! -e "$tmp/x.html" ]; then ok; else bad "gaze $args: exit $rc"; cat "$tmp/refuse.out" >&2; fi
done
e2e_finish
