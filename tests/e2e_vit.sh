#!/usr/bin/env bash
# Vision transformers end to end on the committed tiny models (tests/fixtures/vit): `gaze run`
# on PNG and JPEG images (told by content, even without an extension), the run file's image
# part, every image figure in every format from the run alone, and refusals: text to a vision
# model, an image to a text model, a truncated or fake image, a text run for an image figure.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_vit
e2e_need_bin
IMG=tests/fixtures/images
VIT=tests/fixtures/vit

# run: exit 0, the run file written, the summary names the grid
out=$("$BIN" run "$VIT/vit" "$IMG/rgb_37x29.png" -o "$tmp/vit.safetensors" 2>"$tmp/err"); rc=$?
check '[ $rc -eq 0 ] && [ -s "$tmp/vit.safetensors" ]' "run vit on a PNG: exit $rc: $(cat "$tmp/err")"
check 'grep -q "1 special token + 4 x 4 patches of 8 px" <<<"$out"' "run summary names the grid: $out"
check 'grep -q "top classes: [0-9] class [0-9] <[a-e]>" <<<"$out"' "run summary lists the top classes with labels: $out"
check 'grep -q "decoded .*rgb_37x29.png (37 x 29)" "$tmp/err"' "decode time reported: $(cat "$tmp/err")"
cp "$IMG/exif6_40x24.jpg" "$tmp/noext"
"$BIN" run "$VIT/deit" "$tmp/noext" -o "$tmp/deit.safetensors" -q --capture attn,hidden; rc=$?
check '[ $rc -eq 0 ] && [ -s "$tmp/deit.safetensors" ]' "run deit on a JPEG without extension: exit $rc"
"$BIN" run "$VIT/dinov2" "$IMG/rgb_120x90.png" -o "$tmp/dino.safetensors" -q; rc=$?
check '[ $rc -eq 0 ]' "run dinov2: exit $rc"

# the run file: gaze metadata readable by any safetensors reader (header JSON)
hdr=$(python3 -c 'import json,struct,sys; f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]; h=json.loads(f.read(n)); m=h["__metadata__"]; print(m["gaze.image.grid"], h["image"]["shape"], h["image"]["dtype"], json.loads(m["gaze.image.patches"])[:2], json.loads(m["gaze.tokens"])[:3])' "$tmp/deit.safetensors")
check '[ "$hdr" = "[4,4,8] [32, 32, 3] U8 [[-1, -1], [-1, -1]] ['"'"'[CLS]'"'"', '"'"'[DIST]'"'"', '"'"'(0,0)'"'"']" ]' "deit run file image part: $hdr"
"$BIN" show "$tmp/vit.safetensors" >/dev/null 2>&1; rc=$?
check '[ $rc -eq 0 ]' "gaze show reads an image run: exit $rc"

# figures from the run alone
for kind in image image-patch image-rollout distance; do
    for ext in png svg pdf; do
        f="$tmp/$kind.$ext"
        msg=$("$BIN" plot "$tmp/dino.safetensors" --kind "$kind" -o "$f" 2>&1); rc=$?
        check '[ $rc -eq 0 ] && [ -s "$f" ]' "plot --kind $kind -o .$ext: exit $rc: $msg"
    done
done
check '[ "$(head -c 8 "$tmp/image.png" | od -An -tx1 | tr -d " \n")" = "89504e470d0a1a0a" ]' "image figure is a PNG"
check 'xmllint --noout "$tmp/distance.svg" 2>/dev/null' "distance SVG is well-formed"
check 'grep -q "mean attention distance" "$tmp/distance.svg"' "distance SVG holds its title as text"
"$BIN" plot "$tmp/deit.safetensors" --kind image-patch --patch 2,3 --head 1 -o "$tmp/p.png" >/dev/null; rc=$?
check '[ $rc -eq 0 ]' "plot --patch 2,3 --head 1: exit $rc"
w1=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(struct.unpack(">II", d[16:24]))' "$tmp/image.png")
check '[ "$w1" != "" ]' "PNG header readable"

# a live figure: vision model + image, no run file
msg=$("$BIN" plot "$VIT/vit" "$IMG/exif8_25x38.jpg" --kind image-rollout -o "$tmp/live.png" 2>&1); rc=$?
check '[ $rc -eq 0 ] && [ -s "$tmp/live.png" ]' "plot VISION-MODEL IMAGE: exit $rc: $msg"

# refusals: exit 2 (usage) or 1 (bad file), a message naming the problem, never a crash
err=$("$BIN" run "$VIT/vit" "a photo of a cat" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 2 ] && grep -q "vision model: give it a PNG or JPEG" <<<"$err"' "text to a vision model: exit $rc: $err"
err=$("$BIN" run "$VIT/vit" "$IMG/rgb_37x29.png" --pair "x" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 2 ] && grep -q -- "--pair is for text" <<<"$err"' "--pair with an image: exit $rc: $err"
err=$("$BIN" run "$VIT/vit" "$IMG/bad/truncated.png" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 1 ] && grep -q "truncated.png: bad PNG" <<<"$err"' "truncated PNG: exit $rc: $err"
err=$("$BIN" run "$VIT/vit" "$IMG/bad/bomb.jpg" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 1 ] && grep -q "bomb.jpg: image is 30000 x 30000" <<<"$err"' "bomb JPEG: exit $rc: $err"
err=$("$BIN" run "$VIT/vit" "$IMG/bad/notimage.png" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 1 ] && grep -q "not a PNG or JPEG" <<<"$err"' "fake .png: exit $rc: $err"
err=$("$BIN" plot "$tmp/vit.safetensors" --kind image-patch --patch 4,0 -o "$tmp/x.png" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 2 ] && [ ! -e "$tmp/x.png" ]' "--patch outside the grid: exit $rc: $err"
# a text run (hand-made: tokens only) refused by the image kinds
python3 - "$tmp/text.safetensors" <<'EOF'
import json, struct, sys
meta = {"gaze.format_version": "1", "gaze.model": "m", "gaze.arch": "bert", "gaze.causal": "false",
        "gaze.n_layers": "1", "gaze.n_heads": "1", "gaze.n_kv_heads": "1", "gaze.tokens": json.dumps(["a", "b"])}
att = struct.pack("<4f", 0.5, 0.5, 0.25, 0.75)
ids = struct.pack("<2i", 0, 1)
hdr = {"__metadata__": meta, "attention.0": {"dtype": "F32", "shape": [1, 2, 2], "data_offsets": [0, 16]},
       "token_ids": {"dtype": "I32", "shape": [2], "data_offsets": [16, 24]}}
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + att + ids)
EOF
err=$("$BIN" plot "$tmp/text.safetensors" --kind image -o "$tmp/y.png" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 2 ] && grep -q "image runs" <<<"$err" && [ ! -e "$tmp/y.png" ]' "image figure of a text run: exit $rc: $err"
e2e_finish
