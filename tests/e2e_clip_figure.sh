#!/usr/bin/env bash
# The CLIP / SigLIP figure (gaze plot --kind clip) end to end on the tiny fixtures: gaze run
# CLIP IMAGE --text ... -o measures each vision head's drop of every text's logit (L·H + 1
# passes, said on stderr) and saves them as clip.head_drops, equal to the independent torch
# golden (tests/fixtures/clip_full/text_rollout_golden.safetensors, <= 1e-4); the figure draws
# each text's ablation-weighted rollout and says where it wrote; a run without head drops
# (--no-head-drops, as runs saved before them) still reads and plots, with a note saying why the
# rows have no rollout; SigLIP's probabilities are the sigmoid of each logit (the golden's
# logits_per_image through 1 / (1 + e^-x)), in the terminal and in the figure, not a softmax.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_clip_figure
e2e_need_bin
SRC=${GAZE_SOURCE_DIR:-.}
IMG=$SRC/tests/fixtures/images
CLIP=$SRC/tests/fixtures/clip_full
SIGLIP=$SRC/tests/fixtures/siglip_full
T1="a photo of a cat" T2="A DOG sitting on the grass!" T3="two  cats	and 3 dogs"

# safetensors header of $1 as JSON on stdout, tensor $2 as floats (python helper used below)
cat >"$tmp/st.py" <<'PY'
import json, struct, sys
def header(p):
    f = open(p, "rb"); n = struct.unpack("<Q", f.read(8))[0]; return f, json.loads(f.read(n)), 8 + n
def floats(p, name):
    f, h, base = header(p)
    if name not in h: return None
    o = h[name]["data_offsets"]; f.seek(base + o[0])
    return list(struct.unpack("<%df" % ((o[1] - o[0]) // 4), f.read(o[1] - o[0])))
PY

"$BIN" run "$CLIP" "$IMG/rgb_120x90.png" --text "$T1" --text "$T2" --text "$T3" -o "$tmp/clip.safetensors" \
    >"$tmp/out" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ] && grep -q "ablating each of the 2 x 4 vision heads" "$tmp/err" && grep -q "9 forward passes" "$tmp/err"' \
    "run clip --text x3 -o: the head ablations are announced: exit $rc: $(cat "$tmp/err")"
out=$(python3 - "$tmp/clip.safetensors" "$CLIP/text_rollout_golden.safetensors" "$tmp/st.py" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[3].rsplit("/", 1)[0]); from st import header, floats
_, h, _ = header(sys.argv[1])
d = floats(sys.argv[1], "clip.head_drops")
_, g, _ = header(sys.argv[2])
imgs = json.loads(g["__metadata__"]["images"]); i = imgs.index("rgb_120x90.png")
worst = 0
for j in range(3):
    want = floats(sys.argv[2], f"drop.{i}.{j}")
    worst = max(worst, max(abs(a - b) / max(1, abs(b)) for a, b in zip(d[8 * j:8 * j + 8], want)))
shape = h["clip.head_drops"]["shape"]
print("ok" if shape == [3, 2, 4] and worst <= 1e-4 else f"bad shape {shape} worst {worst}")
PY
)
check '[ "$out" = ok ]' "clip.head_drops [3, 2, 4] equal the torch golden's drops: $out"

# stderr less LeakSanitizer's "Suppressions used" summary (ASan builds: fontconfig's leaks are
# suppressed, and the summary of that is not a message of gaze's)
quiet_err() { sed -e '/^-*$/d' -e '/^Suppressions used:/d' -e '/^ *count *bytes template/d' \
                  -e '/^ *[0-9][0-9]* *[0-9][0-9]* [^ ]*$/d' "$1"; }
for ext in png svg pdf; do
    "$BIN" plot "$tmp/clip.safetensors" --kind clip -o "$tmp/clip.$ext" >"$tmp/out" 2>"$tmp/err"; rc=$?
    check '[ $rc -eq 0 ] && [ -s "$tmp/clip.$ext" ] && grep -q "^wrote $tmp/clip.$ext (" "$tmp/out" && [ -z "$(quiet_err "$tmp/err")" ]' \
        "plot --kind clip .$ext: exit $rc, says where: $(cat "$tmp/out" "$tmp/err")"
done
check '[ "$(head -c 8 "$tmp/clip.png" | od -An -c | tr -d " ")" = "211PNG\r\n032\n" ]' "the PNG is a PNG"
svg=$tmp/clip.svg
check 'grep -q "rollout of the image tower for that text" "$svg" && [ $(grep -o "of 8 heads" "$svg" | wc -l) -eq 3 ]' \
    "the figure labels the per-text rollout (3 rows, of 8 heads each)"
check 'grep -q "plain rollout from \[CLS\], no text" "$svg" && grep -q "softmax over the texts" "$svg"' \
    "the plain rollout is labelled as such; CLIP's probability is a softmax"
# CLIP's probabilities in the figure: softmax of the saved logits
out=$(python3 - "$tmp/clip.safetensors" "$svg" "$tmp/st.py" <<'PY'
import math, re, sys
sys.path.insert(0, sys.argv[3].rsplit("/", 1)[0]); from st import floats
l = floats(sys.argv[1], "clip.logits_per_image"); m = max(l); z = sum(math.exp(x - m) for x in l)
got = [(float(a), float(b)) for a, b in re.findall(r">\s*(-?\d+\.\d{3})\s+(\d\.\d{3})\s*<", open(sys.argv[2]).read())]
want = [(x, math.exp(x - m) / z) for x in l]
ok = len(got) == 3 and all(abs(a - c) <= 1e-3 and abs(b - d) <= 1e-3 for (a, b), (c, d) in zip(got, want))
print("ok" if ok else f"bad {got} {want}")
PY
)
check '[ "$out" = ok ]' "figure: CLIP logits and softmax: $out"

# without head drops (as a run saved before them): reads, plots, and says why no rollout per text
"$BIN" run "$CLIP" "$IMG/rgb_120x90.png" --text "$T1" --no-head-drops -o "$tmp/old.safetensors" >/dev/null 2>"$tmp/err"; rc=$?
hd=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[2]); from st import header; print("clip.head_drops" in header(sys.argv[1])[1])' \
     "$tmp/old.safetensors" "$tmp")
check '[ $rc -eq 0 ] && [ "$hd" = False ] && ! grep -q "ablating" "$tmp/err"' "--no-head-drops: no passes, no tensor: exit $rc, $hd"
"$BIN" plot "$tmp/old.safetensors" --kind clip -o "$tmp/old.svg" >"$tmp/out" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ] && [ -s "$tmp/old.svg" ] && grep -q "no rollout per text: the run has no head drops" "$tmp/err" && grep -q "this run has no head drops" "$tmp/old.svg" && ! grep -q "of 8 heads" "$tmp/old.svg"' \
    "plot of a run without head drops: exit $rc: $(cat "$tmp/err")"
"$BIN" run "$CLIP" "$IMG/rgb_120x90.png" --no-head-drops >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q "no-head-drops goes with --text" "$tmp/err"' "--no-head-drops alone: exit $rc: $(cat "$tmp/err")"

# SigLIP: sigmoid of each logit, in the terminal and in the figure
"$BIN" run "$SIGLIP" "$IMG/rgb_120x90.png" --text "$T1" --text "$T2" --text "$T3" -o "$tmp/sig.safetensors" \
    >"$tmp/sout" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ] && grep -q "sigmoid of each" "$tmp/sout"' "siglip run: exit $rc: $(cat "$tmp/err")"
"$BIN" show "$tmp/sig.safetensors" >"$tmp/show" 2>&1; rc=$?
check '[ $rc -eq 0 ] && grep -q "sigmoid of each" "$tmp/show" && [ "$(grep "tokens  \"" "$tmp/show")" = "$(grep "tokens  \"" "$tmp/sout")" ]' \
    "gaze show of the saved SigLIP run prints the same logits and sigmoids: exit $rc: $(tail -4 "$tmp/show")"
"$BIN" show "$tmp/clip.safetensors" >"$tmp/show" 2>&1; rc=$?
check '[ $rc -eq 0 ] && grep -q "softmax over the 3 texts" "$tmp/show"' "gaze show of the saved CLIP run: the softmax: exit $rc"
"$BIN" plot "$tmp/sig.safetensors" --kind clip -o "$tmp/sig.svg" >"$tmp/out" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ] && grep -q "^wrote $tmp/sig.svg (" "$tmp/out"' "plot --kind clip of SigLIP: exit $rc: $(cat "$tmp/out" "$tmp/err")"
"$BIN" plot "$tmp/sig.safetensors" --kind clip -o "$tmp/sig.png" >/dev/null 2>&1; rc=$?
check '[ $rc -eq 0 ] && [ -s "$tmp/sig.png" ]' "plot --kind clip of SigLIP to PNG: exit $rc"
out=$(python3 - "$SIGLIP/golden.safetensors" "$tmp/sout" "$tmp/sig.svg" "$tmp/st.py" <<'PY'
import json, math, re, sys
sys.path.insert(0, sys.argv[4].rsplit("/", 1)[0]); from st import header, floats
_, g, _ = header(sys.argv[1])
i = json.loads(g["__metadata__"]["images"]).index("rgb_120x90.png")
want = [1 / (1 + math.exp(-x)) for x in floats(sys.argv[1], f"logits_per_image.{i}")]
term = [float(l.split()[1]) for l in open(sys.argv[2]) if "tokens" in l and l.rstrip().endswith('"')]
svg = open(sys.argv[3]).read()
fig = [float(b) for a, b in re.findall(r">\s*(-?\d+\.\d{3})\s+(\d\.\d{3})\s*<", svg)]
ok = (len(term) == 3 and len(fig) == 3 and all(abs(a - b) <= 1e-4 for a, b in zip(term, want))
      and all(abs(a - b) <= 1e-3 for a, b in zip(fig, want)) and abs(sum(want) - 1) > 0.05
      and "sigmoid of each text" in svg and "softmax" not in svg)
print("ok" if ok else f"bad terminal {term} figure {fig} want {want}")
PY
)
check '[ "$out" = ok ]' "SigLIP probabilities are sigmoid(golden logits) in the terminal and the figure: $out"
check 'grep -q "every query&apos;s attention (mean)" "$tmp/sig.svg" && grep -q "plain rollout (mean of rows)" "$tmp/sig.svg" && [ $(grep -o "of 8 heads" "$tmp/sig.svg" | wc -l) -eq 3 ]' \
    "SigLIP (no [CLS]): mean of every query, rollout rows, per-text rollout"
e2e_finish
