#!/usr/bin/env bash
# Analysis commands on image runs (tiny DeiT / ViT of tests/fixtures/vit): `gaze heads`, `rollout`,
# `flow` and `diff` take a vision model and an image as they take a model and text, and give the
# same numbers as on the saved run; `gaze heads` adds the patch geometry (the special tokens by
# name, each head's mean attention distance in pixels and most attended patch, sink patches as in
# "Vision Transformers Need Registers"), checked here against the run file itself.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_vit_analysis
e2e_need_bin
e2e_need_model minilm
SRC=${GAZE_SOURCE_DIR:-.}
IMG=$SRC/tests/fixtures/images
VIT=$SRC/tests/fixtures/vit

"$BIN" run "$VIT/deit" "$IMG/rgb_37x29.png" --capture attn,hidden -o "$tmp/deit.safetensors" -q; rc=$?
check '[ $rc -eq 0 ]' "run deit: exit $rc"
"$BIN" run "$VIT/deit" "$IMG/exif6_40x24.jpg" --capture attn,hidden -o "$tmp/deit2.safetensors" -q; rc=$?
check '[ $rc -eq 0 ]' "run deit (second image): exit $rc"

# heads: live (vision model + image) equals the saved run; JSON checked against the run file
"$BIN" heads "$VIT/deit" "$IMG/rgb_37x29.png" --json >"$tmp/live.json" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ]' "heads VISION-MODEL IMAGE: exit $rc: $(cat "$tmp/err")"
"$BIN" heads "$tmp/deit.safetensors" --json >"$tmp/file.json" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ]' "heads RUN (image): exit $rc: $(cat "$tmp/err")"
"$BIN" heads "$tmp/deit.safetensors" --json --patch-sink 1 --patch-norm 1 >"$tmp/loose.json" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ]' "heads --patch-sink 1 --patch-norm 1: exit $rc: $(cat "$tmp/err")"
out=$(python3 - "$tmp/deit.safetensors" "$tmp/live.json" "$tmp/file.json" "$tmp/loose.json" <<'EOF'
import json, math, struct, sys
buf = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", buf[:8]); hdr = json.loads(buf[8:8 + n]); base = 8 + n
meta = hdr["__metadata__"]
rows, cols, patch = json.loads(meta["gaze.image.grid"])
rc = json.loads(meta["gaze.image.patches"])
toks = json.loads(meta["gaze.tokens"])
T = len(toks)
def tensor(name):
    t = hdr[name]; a, b = t["data_offsets"]
    fmt = {"F32": "f", "F16": "e"}[t["dtype"]]
    return t["shape"], struct.unpack("<%d%s" % ((b - a) // struct.calcsize(fmt), fmt), buf[base + a:base + b])
live, file, loose = (json.load(open(p)) for p in sys.argv[2:5])
errs = []
def need(c, what):
    if not c: errs.append(what)
im = file.get("image")
need(im is not None, "no image section in heads --json")
if im:
    need(im["grid"] == [rows, cols, patch], "grid %s" % im["grid"])
    need([s["name"] for s in im["special_tokens"]] == ["[CLS]", "[DIST]"] and
         [s["token"] for s in im["special_tokens"]] == [0, 1] and all(s["row"] == -1 for s in im["special_tokens"]),
         "special tokens %s" % im["special_tokens"])
    need(im["patches"] == rows * cols and im["norm_layer"] is not None, "patches/norm layer")
need(json.dumps(live["heads"]) == json.dumps(file["heads"]), "live heads differ from the saved run's")
H = file["n_heads"]
for e in file["heads"]:
    shape, a = tensor("attention.%d" % e["layer"])
    _, tq, tk = shape
    h = e["head"]
    s, nq = 0.0, 0
    for i in range(tq):
        qr, qc = rc[i]
        if qr < 0: continue
        row = a[(h * tq + i) * tk:(h * tq + i + 1) * tk]
        w = d = 0.0
        for k in range(tk):
            kr, kc = rc[k]
            if kr < 0: continue
            w += row[k]; d += row[k] * math.hypot(kr - qr, kc - qc)
        if w > 0: s += d / w; nq += 1
    want = s / nq * patch
    need(abs(e["attention_distance_px"] - want) < 1e-4, "layer %d head %d distance %s, run gives %.6f" % (e["layer"], h, e["attention_distance_px"], want))
    col = [sum(a[(h * tq + i) * tk + k] for i in range(tq)) / tq for k in range(tk)]
    best = max(range(tk), key=lambda k: col[k])
    tkey = e["top_key"]
    need(abs(col[tkey["token"]] - col[best]) < 1e-6 and abs(tkey["weight"] - col[best]) < 1e-5 and
         [tkey["row"], tkey["col"]] == rc[tkey["token"]] and tkey["name"] == toks[tkey["token"]],
         "layer %d head %d top key %s, run gives %d (%.6f)" % (e["layer"], h, tkey, best, col[best]))
need(im and im["sink_patches"] == [] or all(s["received"] >= 4 * im["median_patch_received"] for s in im["sink_patches"]),
     "a default sink below 4x the median")
li = loose["image"]
need(len(li["sink_patches"]) > 0, "factors 1/1 flag no patch")
for s in li["sink_patches"]:
    need(s["received"] >= li["median_patch_received"] and s["norm"] >= li["median_patch_norm"] and
         [s["row"], s["col"]] == rc[s["token"]] and s["name"] == toks[s["token"]], "loose sink %s" % s)
print("\n".join(errs) if errs else "ok %d heads" % len(file["heads"]))
EOF
)
check '[ "${out#ok }" != "$out" ]' "heads --json on an image run: $out"
"$BIN" heads "$tmp/deit.safetensors" >"$tmp/table.txt" 2>&1; rc=$?
check '[ $rc -eq 0 ] && grep -q "^image: 4 x 4 patches of 8 px; special tokens: \[CLS\] #0 receives [0-9.]* (layer [0-9]*), \[DIST\] #1" "$tmp/table.txt"' \
      "heads table names the grid and special tokens: $(grep image: "$tmp/table.txt")"
check 'grep -q "^mean attention distance (px) per layer" "$tmp/table.txt" && grep -q "^sink patches (receive >= 4 x the median" "$tmp/table.txt"' \
      "heads table: distance per layer and sink patches: $(tail -4 "$tmp/table.txt")"
"$BIN" heads "$tmp/deit.safetensors" --csv >"$tmp/h.csv"; rc=$?
check '[ $rc -eq 0 ] && head -1 "$tmp/h.csv" | grep -q ",labels,attention_distance_px,top_key,top_key_row,top_key_col,top_key_weight$"' "heads --csv columns"

# rollout, flow and diff: a vision model and image(s) as the source, the same as the saved runs
for cmd in "rollout --json" "rollout --json --all --fusion max" "flow --json"; do
    # shellcheck disable=SC2086
    "$BIN" $cmd "$VIT/deit" "$IMG/rgb_37x29.png" >"$tmp/a.json" 2>"$tmp/err"; rc=$?
    check '[ $rc -eq 0 ] && grep -q "(3,3)" "$tmp/a.json"' "$cmd VISION-MODEL IMAGE: exit $rc: $(cat "$tmp/err")"
    # shellcheck disable=SC2086
    "$BIN" $cmd "$tmp/deit.safetensors" >"$tmp/b.json" 2>/dev/null
    same=$(python3 -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); [x.pop(k,None) for x in (a,b) for k in ("model","milliseconds")]; print(a==b)' "$tmp/a.json" "$tmp/b.json")
    check '[ "$same" = True ]' "$cmd: live and saved image runs differ"
done
"$BIN" diff "$VIT/deit" "$IMG/rgb_37x29.png" "$IMG/exif6_40x24.jpg" --json >"$tmp/d1.json" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ]' "diff VISION-MODEL IMAGE IMAGE: exit $rc: $(cat "$tmp/err")"
"$BIN" diff "$tmp/deit.safetensors" "$tmp/deit2.safetensors" --json >"$tmp/d2.json" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ]' "diff RUN RUN (images): exit $rc: $(cat "$tmp/err")"
same=$(python3 -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); print(a["heads"]==b["heads"] and any(h["jsd"]>0 for h in a["heads"]))' "$tmp/d1.json" "$tmp/d2.json")
check '[ "$same" = True ]' "diff: live and saved image runs differ (or no head differs)"

# gaze view VISION-MODEL IMAGE: a live image run's page, opened on its image tab
out=$("$BIN" view "$VIT/deit" "$IMG/rgb_37x29.png" -o "$tmp/live.html" 2>&1); rc=$?
check '[ $rc -eq 0 ] && grep -q "\"view\":\"image\"" "$tmp/live.html" && grep -q "\"image\":{\"h\":32,\"w\":32,\"rows\":4,\"cols\":4" "$tmp/live.html"' \
      "view VISION-MODEL IMAGE: exit $rc: $out"
err=$("$BIN" view "$VIT/deit" "a cat" -o "$tmp/x.html" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 2 ] && grep -q "a vision model: give it a PNG or JPEG" <<<"$err" && [ ! -e "$tmp/x.html" ]' "view VISION-MODEL text: exit $rc: $err"

# refusals: text to a vision model, an image to a text model, --pair with an image
err=$("$BIN" heads "$VIT/deit" "a photo of a cat" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 2 ] && grep -q "a vision model: give it a PNG or JPEG" <<<"$err"' "heads VISION-MODEL text: exit $rc: $err"
err=$("$BIN" rollout minilm "$IMG/rgb_37x29.png" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 2 ] && grep -q "takes text, not an image" <<<"$err"' "rollout TEXT-MODEL image: exit $rc: $err"
err=$("$BIN" heads "$VIT/deit" "$IMG/rgb_37x29.png" --pair "x" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 2 ] && grep -q -- "--pair is for text" <<<"$err"' "heads --pair with an image: exit $rc: $err"
e2e_finish
