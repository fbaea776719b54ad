#!/usr/bin/env bash
# CLIP end to end on the committed tiny CLIPModel (tests/fixtures/clip_full): `gaze run CLIP
# IMAGE --text ...` prints logits_per_image equal to transformers' (golden, 1e-4) and their
# softmax, keeps each text's run in the run file (readable by any safetensors reader, ignored by
# the rest), `gaze plot --kind clip` draws it in every format; refusals: --text without an image
# or on a model without a text tower, a text past max_position_embeddings, --kind clip of a run
# without texts.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_clip
e2e_need_bin
IMG=tests/fixtures/images
CLIP=tests/fixtures/clip_full

out=$("$BIN" run "$CLIP" "$IMG/rgb_120x90.png" --text "a photo of a cat" --text "A DOG sitting on the grass!" \
      --text "two  cats	and 3 dogs" -o "$tmp/clip.safetensors" 2>"$tmp/err"); rc=$?
check '[ $rc -eq 0 ] && [ -s "$tmp/clip.safetensors" ]' "run clip with 3 texts: exit $rc: $(cat "$tmp/err")"
check 'grep -q "image-text similarity" <<<"$out"' "the similarity is printed: $out"
# printed logits against transformers' logits_per_image (golden of image 1 = rgb_120x90.png)
printf '%s\n' "$out" >"$tmp/out.txt"
cmp=$(python3 - "$CLIP/golden.safetensors" "$tmp/out.txt" <<'EOF2'
import json, struct, sys, math
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); base = 8 + n
o = h["logits_per_image.1"]["data_offsets"]; f.seek(base + o[0])
want = struct.unpack("<3f", f.read(o[1] - o[0]))
got = [float(l.split()[0]) for l in open(sys.argv[2]) if l.strip().endswith('"') and "tokens" in l]
print("ok" if len(got) == 3 and all(abs(a - b) <= 1e-3 for a, b in zip(got, want)) else f"bad {got} {want}")
EOF2
)
check '[ "$cmp" = ok ]' "printed logits_per_image match transformers: $cmp"
hdr=$(python3 -c 'import json,struct,sys; f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]; h=json.loads(f.read(n)); m=h["__metadata__"]; t=json.loads(m["gaze.clip.texts"]); print(len(t), t[0]["tokens"][0], t[0]["pool_token"], h["text.0.attention.1"]["shape"], h["clip.logits_per_image"]["shape"])' "$tmp/clip.safetensors")
check '[ "$hdr" = "3 <|startoftext|> 6 [4, 7, 7] [3]" ]' "run file keeps the texts: $hdr"
"$BIN" show "$tmp/clip.safetensors" >/dev/null 2>&1; rc=$?
check '[ $rc -eq 0 ]' "gaze show reads a CLIP run: exit $rc"
for ext in png svg pdf; do
    msg=$("$BIN" plot "$tmp/clip.safetensors" --kind clip -o "$tmp/clip.$ext" 2>&1); rc=$?
    check '[ $rc -eq 0 ] && [ -s "$tmp/clip.$ext" ]' "plot --kind clip -o .$ext: exit $rc: $msg"
done
check 'grep -q "image-text similarity" "$tmp/clip.svg" && grep -q "photo" "$tmp/clip.svg"' "clip SVG holds the title and the tokens as text"

# refusals
err=$("$BIN" run "$CLIP" "$IMG/rgb_120x90.png" --text "a a a a a a a a a a a a a a a a a a a a a a a a a a" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 1 ] && grep -q "max_position_embeddings" <<<"$err"' "text longer than the positions: exit $rc: $err"
err=$("$BIN" run tests/fixtures/vit/vit "$IMG/rgb_120x90.png" --text "a cat" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 2 ] && grep -q "no CLIP/SigLIP text tower" <<<"$err"' "--text on a ViT: exit $rc: $err"
"$BIN" run "$CLIP" "$IMG/rgb_120x90.png" -o "$tmp/img.safetensors" -q 2>/dev/null
err=$("$BIN" plot "$tmp/img.safetensors" --kind clip -o "$tmp/z.png" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 2 ] && grep -q -- "--text" <<<"$err" && [ ! -e "$tmp/z.png" ]' "--kind clip without texts: exit $rc: $err"
e2e_finish
