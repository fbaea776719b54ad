#!/usr/bin/env bash
# `gaze view` of encoder-decoder runs in a real browser (Debian's chromium, headless, no network;
# the browser harness is tests/lib/view.sh): one page holds the encoder, decoder and cross attention.
#   - runs: a synthetic one with hostile source and target tokens (test_html --write-fixtures),
#     and the committed tiny T5 and BART models (tests/fixtures/seq2seq) with generation;
#   - each page is opened once per kind at #kind=K&selftest: the self-test drives that kind's
#     views (head, model, heatmap, steps for the decoder, the alignment view for cross:
#     mean and one head, tokens and words), the kind selector and the alignment tab, and records
#     hovered values; tests/e2e/view_check.py recomputes each from the run file's tensors of that
#     kind (decoder.attention.L, cross.attention.L), rollout values with gaze rollout --kind;
#   - --kind picks the kind the page opens on, --view align the alignment; refusals name why.
# Needs $GAZE_BIN (ctest sets it) and chromium (scripts/install-deps); no fetched model.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_view_seq2seq stderr
SRC=${GAZE_SOURCE_DIR:-.}
S2S=$SRC/tests/fixtures/seq2seq
TEST_HTML=$(dirname "$GAZE_BIN")/../tests/test_html
. "$(dirname "$0")/lib/view.sh"
e2e_need_bin
[ -x "$TEST_HTML" ] || { bad "$TEST_HTML is missing (build the tests first)"; e2e_finish; }
view_need_chromium

# check_kind NAME RUN KIND [view_check flags]: the self-test in KIND, then the checker
check_kind() {
    local name=$1 run=$2 kind=$3
    shift 3
    [ -s "$tmp/$name.html" ] || { bad "$name: no page to check"; return; }
    view_selftest "$name.$kind" "file://$tmp/$name.html#kind=$kind&selftest" "$SRC/tests/e2e/view_check.py" \
        "$tmp/$name.html" "$run" --gaze "$GAZE_BIN" "$@"
}

# 1. synthetic: hostile source and target tokens and target text, 2 decoder layers
if "$TEST_HTML" --write-fixtures "$tmp" >"$tmp/fixtures.out" 2>&1; then ok; else bad "test_html --write-fixtures"; cat "$tmp/fixtures.out" >&2; fi
view encdec "$tmp/encdec.safetensors"
grep -q "3 kinds on the page (encoder, decoder, cross; a selector switches them, cross-attention also in the alignment view), opening on encoder" \
    "$tmp/encdec.view.out" && ok || bad "encdec: gaze view does not say the page holds the three kinds"
grep -q '"kinds":{"list":\["encoder","decoder","cross"\],"initial":"encoder"' "$tmp/encdec.html" && ok || bad "encdec: kind list"
for k in encoder decoder cross; do check_kind encdec "$tmp/encdec.safetensors" "$k"; done
view encdec_u8 "$tmp/encdec.safetensors" --precision u8 --kind decoder --view steps
grep -q '"initial":"decoder"' "$tmp/encdec_u8.html" && ok || bad "encdec_u8: --kind decoder is not the initial kind"
check_kind encdec_u8 "$tmp/encdec.safetensors" cross
check_kind encdec_u8 "$tmp/encdec.safetensors" decoder --expect steps-slider

# 2. the tiny T5 and BART models with generation (encoder-decoder runs capture attention only)
for fam in t5 bart; do
    if "$GAZE_BIN" run "$S2S/$fam" "the lazy dog near the river" --generate 4 -o "$tmp/$fam.safetensors" \
        --quiet >"$tmp/$fam.run.out" 2>&1; then ok; else bad "gaze run $fam"; cat "$tmp/$fam.run.out" >&2; continue; fi
    view "$fam" "$tmp/$fam.safetensors" --kind cross
    grep -q '"initial":"cross"' "$tmp/$fam.html" && ok || bad "$fam: --kind cross is not the initial kind"
    check_kind "$fam" "$tmp/$fam.safetensors" encoder
    check_kind "$fam" "$tmp/$fam.safetensors" decoder --expect steps-slider --expect rollout-numbers
    check_kind "$fam" "$tmp/$fam.safetensors" cross
done
# 2b. a long source (T5 keeps 511 tokens) under a 2 MB cap: the short target's kinds stay exact
# (f16), the encoder keeps some layers exact (u8) and the rest as block means; every kind checked
LONG=$(python3 -c "print(' '.join('the dog near the river %d.' % i for i in range(30)))")
if "$GAZE_BIN" run "$S2S/t5" "$LONG" --generate 24 -o "$tmp/long.safetensors" --quiet >"$tmp/long.run.out" 2>&1; then ok
else bad "gaze run t5 (long)"; cat "$tmp/long.run.out" >&2; fi
view long "$tmp/long.safetensors" --max-mb 2
grep -q "block means" "$tmp/long.view.out" && ok || bad "long: no block summaries reported"
for k in encoder decoder cross; do check_kind long "$tmp/long.safetensors" "$k"; done
shot long "kind=cross&view=align"

view t5_align "$tmp/t5.safetensors" --view align
grep -q '"view":"align"' "$tmp/t5_align.html" && ok || bad "t5_align: --view align is not the first view"
shot t5_align "view=align"
shot t5_align "kind=cross&view=align&words&head=1"
shot t5_align "kind=decoder&view=model"

# 3. refusals: exit 1..127 with a message naming what is wrong
"$GAZE_BIN" view "$tmp/decoder.safetensors" --view align -o "$tmp/x.html" >"$tmp/r.out" 2>&1; rc=$?
check '[ $rc -ge 1 ] && [ $rc -lt 128 ] && grep -q "align is for encoder-decoder runs" "$tmp/r.out"' "--view align on a single-kind run: exit $rc: $(cat "$tmp/r.out")"
"$GAZE_BIN" view "$tmp/decoder.safetensors" --kind cross -o "$tmp/x.html" >"$tmp/r.out" 2>&1; rc=$?
check '[ $rc -ge 1 ] && [ $rc -lt 128 ] && grep -q "cross" "$tmp/r.out"' "--kind cross on a decoder run: exit $rc: $(cat "$tmp/r.out")"
"$GAZE_BIN" view "$tmp/encdec.safetensors" --kind sideways -o "$tmp/x.html" >"$tmp/r.out" 2>&1; rc=$?
check '[ $rc -ge 1 ] && [ $rc -lt 128 ] && grep -q "not a kind" "$tmp/r.out"' "--kind sideways: exit $rc: $(cat "$tmp/r.out")"
e2e_finish
