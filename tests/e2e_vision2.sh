#!/usr/bin/env bash
# --image-size WxH on every command that takes MODEL IMAGE (one parser, cli_image_size), the
# ablation-weighted rollout (gaze rollout CLIP IMAGE --text), SigLIP's sigmoid similarity
# (gaze run SIGLIP IMAGE --text) and DINOv2's register tokens in gaze heads, end to end on the
# tiny fixtures of tests/fixtures/vit, clip_full and siglip_full.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_vision2
e2e_need_bin
SRC=${GAZE_SOURCE_DIR:-.}
IMG=$SRC/tests/fixtures/images
VIT=$SRC/tests/fixtures/vit
CLIP=$SRC/tests/fixtures/clip_full

# a 48 x 40 input: a 5 x 6 grid of 8-pixel patches (the model's own is 4 x 4)
"$BIN" run "$VIT/vit" "$IMG/rgb_120x90.png" --image-size 48x40 -o "$tmp/r.safetensors" -q; rc=$?
check '[ $rc -eq 0 ]' "run --image-size: exit $rc"
"$BIN" rollout "$VIT/vit" "$IMG/rgb_120x90.png" --image-size 48x40 --json >"$tmp/live.json" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ]' "rollout --image-size: exit $rc: $(cat "$tmp/err")"
"$BIN" rollout "$tmp/r.safetensors" --json >"$tmp/file.json" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ]' "rollout RUN: exit $rc"
out=$(python3 - "$tmp/live.json" "$tmp/file.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ta, tb = a["tokens"], b["tokens"]
print("ok" if len(ta) == 31 and ta == tb and ta[-1] == "(4,5)" and
      max(abs(x - y) for x, y in zip(a["values"], b["values"])) < 1e-6 else f"differ {len(ta)} {ta[-1:]}")
PY
)
check '[ "$out" = ok ]' "rollout live at 48x40 = rollout of the saved run: $out"
"$BIN" heads "$VIT/vit" "$IMG/rgb_120x90.png" --image-size 48x40 >"$tmp/heads" 2>&1; rc=$?
check '[ $rc -eq 0 ] && grep -q "image: 5 x 6 patches" "$tmp/heads"' "heads --image-size: exit $rc: $(head -3 "$tmp/heads")"
"$BIN" flow "$VIT/vit" "$IMG/rgb_120x90.png" --image-size 48x40 >"$tmp/flow" 2>&1; rc=$?
check '[ $rc -eq 0 ] && grep -q "(4,5)" "$tmp/flow"' "flow --image-size: exit $rc: $(tail -2 "$tmp/flow")"
"$BIN" diff "$VIT/vit" "$IMG/rgb_120x90.png" "$IMG/rgb_37x29.png" --image-size 48x40 >"$tmp/diff" 2>&1; rc=$?
check '[ $rc -eq 0 ]' "diff --image-size: exit $rc: $(tail -2 "$tmp/diff")"
"$BIN" view "$VIT/vit" "$IMG/rgb_120x90.png" --image-size 48x40 -o "$tmp/v.html" >"$tmp/view" 2>&1; rc=$?
check '[ $rc -eq 0 ] && [ -s "$tmp/v.html" ]' "view --image-size: exit $rc: $(tail -2 "$tmp/view")"
"$BIN" plot "$VIT/vit" "$IMG/rgb_120x90.png" --image-size 48x40 --kind image -o "$tmp/p.svg" >"$tmp/plot" 2>&1; rc=$?
check '[ $rc -eq 0 ] && [ -s "$tmp/p.svg" ]' "plot --image-size: exit $rc: $(tail -2 "$tmp/plot")"
# one parser, one message; refused where it cannot apply
for cmd in run heads rollout flow view plot; do
    "$BIN" $cmd "$VIT/vit" "$IMG/rgb_120x90.png" --image-size 48by40 >/dev/null 2>"$tmp/err"; rc=$?
    check '[ $rc -eq 2 ] && grep -q "gaze $cmd: --image-size: expected WxH" "$tmp/err"' "$cmd bad --image-size: exit $rc: $(cat "$tmp/err")"
done
"$BIN" rollout "$tmp/r.safetensors" --image-size 48x40 >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q "is for a vision model run on an image" "$tmp/err"' "--image-size on a run file: exit $rc: $(cat "$tmp/err")"
"$BIN" heads "$VIT/vit" "$IMG/rgb_120x90.png" --image-size 44x40 >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -ne 0 ] && grep -q "multiple of the patch size" "$tmp/err"' "44x40 (not a multiple of 8): exit $rc: $(cat "$tmp/err")"

# ablation-weighted rollout of CLIP's image tower for a text
"$BIN" rollout "$CLIP" "$IMG/rgb_120x90.png" --text "a photo of a cat" --json >"$tmp/t.json" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ] && grep -q "9 forward passes" "$tmp/err"' "rollout --text: exit $rc: $(cat "$tmp/err")"
# text that is not UTF-8 is refused by the tokenizer, naming the byte, before any output is written
"$BIN" rollout "$CLIP" "$IMG/rgb_120x90.png" --text "$(printf 'a \xff cat')" --json >"$tmp/bad.json" 2>"$tmp/err"; rc=$?
check '[ $rc -ne 0 ] && [ ! -s "$tmp/bad.json" ] && grep -q "invalid UTF-8 at byte offset 2" "$tmp/err"' \
    "rollout --text with invalid UTF-8 refused: exit $rc: $(cat "$tmp/err")"
"$BIN" rollout "$CLIP" "$IMG/rgb_120x90.png" --json >"$tmp/p.json" 2>/dev/null
out=$(python3 - "$tmp/t.json" "$tmp/p.json" <<'PY'
import json, sys
t, p = (json.load(open(x)) for x in sys.argv[1:3])
w = t.get("head_weights", [])
ok = (t["method"] == "ablation-weighted rollout" and len(w) == 8 and min(w) >= 0 and 0 < sum(x > 0 for x in w) < 8
      and abs(sum(t["values"]) - 1) < 1e-6 and max(abs(a - b) for a, b in zip(t["values"], p["values"])) > 1e-3)
print("ok" if ok else f"bad {t.get('method')} {w}")
PY
)
check '[ "$out" = ok ]' "rollout --text JSON: weights >= 0, some heads, differs from the plain rollout: $out"
"$BIN" rollout "$CLIP" "$IMG/rgb_120x90.png" --text "a cat" --fusion max >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q "does not go with --fusion" "$tmp/err"' "--text --fusion max: exit $rc: $(cat "$tmp/err")"
"$BIN" rollout "$VIT/vit" "$IMG/rgb_120x90.png" --text "a cat" >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q "whole CLIP or SigLIP" "$tmp/err"' "--text on a ViT: exit $rc: $(cat "$tmp/err")"

# SigLIP: sigmoid of each logit (no softmax over the texts)
"$BIN" run "$SRC/tests/fixtures/siglip_full" "$IMG/rgb_37x29.png" --text "a photo of a cat" --text "a dog" >"$tmp/s" 2>&1; rc=$?
check '[ $rc -eq 0 ] && grep -q "sigmoid of each" "$tmp/s" && [ $(grep -c "32 tokens" "$tmp/s") -eq 2 ]' "siglip --text: exit $rc: $(cat "$tmp/s")"

# DINOv2 with registers: the registers named, and judged as sinks by the patch tests
"$BIN" heads "$VIT/dinov2_reg" "$IMG/rgb_120x90.png" >"$tmp/h" 2>&1; rc=$?
check '[ $rc -eq 0 ] && grep -q "\[REG3\] #4 receives" "$tmp/h" && grep -q "register tokens acting as sinks (same tests): [0-9] of 4" "$tmp/h"' \
    "heads on dinov2_reg: exit $rc: $(cat "$tmp/h")"
# the JSON: each [REGi] with its sink flag, and their count apart from the sink patches, as the table says
"$BIN" heads "$VIT/dinov2_reg" "$IMG/rgb_120x90.png" --json >"$tmp/h.json" 2>/dev/null; rc=$?
n_text=$(sed -n 's/.*register tokens acting as sinks (same tests): \([0-9]*\) of 4.*/\1/p' "$tmp/h")
out=$(python3 - "$tmp/h.json" "$n_text" <<'PY'
import json, sys
im = json.load(open(sys.argv[1]))["image"]
regs = [e for e in im["special_tokens"] if "sink" in e]
ok = len(regs) == 4 and im["register_sinks"] == sum(e["sink"] for e in regs) == int(sys.argv[2])
print("ok" if ok else f"bad {len(regs)} {im['register_sinks']} {sys.argv[2]}")
PY
)
check '[ $rc -eq 0 ] && [ "$out" = ok ]' "heads --json on dinov2_reg: register_sinks counts the flagged [REGi]: exit $rc: $out"
e2e_finish
