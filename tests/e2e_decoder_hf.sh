#!/usr/bin/env bash
# Decoders from Hugging Face folders end to end: `gaze run FOLDER "text"` on the tiny GPT-2 and
# Gemma 2 fixtures (tests/fixtures/decoders) writes a run that show / heads / view read, with the
# family as its arch and each layer's sliding window in its metadata; a gemma3 wrapper folder
# (text_config, language_model.* weights) runs as its text model, F16 and BF16 weights run; an unsupported model_type,
# rope_scaling type, hidden_act or dtype is refused by name (exit 1, message on stderr).
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_decoder_hf
e2e_need_bin
FX=${GAZE_SOURCE_DIR:-.}/tests/fixtures/decoders
expect() { if [ "$1" = "$2" ]; then ok; else bad "$3: got '$1', want '$2'"; fi; }
has() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: output lacks '$2'"; printf '%s\n' "$1" | head -20; fi; }

# 1. runs from the folders
out=$("$BIN" run "$FX/gpt2" "The cat sat on the mat." -o "$tmp/gpt2.safetensors" 2>&1); rc=$?
expect "$rc" 0 "run gpt2 exit code"
has "$out" "captured 2 layers x 4 heads" "run gpt2 says what it captured"
out=$("$BIN" info "$tmp/gpt2.safetensors" 2>&1); rc=$?
expect "$rc" 0 "info on the gpt2 run"
has "$out" "gpt2" "the run's arch is the family"
out=$("$BIN" run "$FX/gpt2" "one two three" --generate 4 -o "$tmp/gen.safetensors" 2>&1); rc=$?
expect "$rc" 0 "generate from gpt2"
out=$("$BIN" run "$FX/gemma2" "Attention is all you need" -o "$tmp/g2.safetensors" 2>&1); rc=$?
expect "$rc" 0 "run gemma2 exit code"
out=$("$BIN" info "$tmp/g2.safetensors" 2>&1)
has "$out" "[4,0,4,0]" "gemma2 run records each layer's window"
out=$("$BIN" show "$tmp/g2.safetensors" 2>&1); rc=$?
expect "$rc" 0 "show on the gemma2 run"
out=$("$BIN" heads "$tmp/g2.safetensors" 2>&1); rc=$?
expect "$rc" 0 "heads on the gemma2 run"
has "$out" "4 layers x 4 heads" "heads reads the shape"
out=$("$BIN" view "$tmp/g2.safetensors" -o "$tmp/g2.html" 2>&1); rc=$?
expect "$rc" 0 "view on the gemma2 run"
check '[ -s "$tmp/g2.html" ]' "view wrote the page"

# gemma3 (the multimodal wrapper): text_config and language_model.* weights run as gemma3_text
rm -rf "$tmp/w"; mkdir "$tmp/w"; cp "$FX/gemma3_text/"tokenizer*.json "$tmp/w/"
python3 - "$FX/gemma3_text" "$tmp/w" <<'PY'
import json, struct, sys
src, dst = sys.argv[1], sys.argv[2]
c = json.load(open(src + "/config.json"))
json.dump({"model_type": "gemma3", "architectures": ["Gemma3ForConditionalGeneration"], "text_config": c},
          open(dst + "/config.json", "w"))
b = open(src + "/model.safetensors", "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
h = {(k if k == "__metadata__" else "language_model." + k): v for k, v in h.items()}
hb = json.dumps(h).encode(); hb += b" " * ((8 - len(hb) % 8) % 8)
open(dst + "/model.safetensors", "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
PY
"$BIN" run "$FX/gemma3_text" "one two three four five six" -o "$tmp/g3a.safetensors" >/dev/null 2>&1
out=$("$BIN" run "$tmp/w" "one two three four five six" -o "$tmp/g3b.safetensors" 2>&1); rc=$?
expect "$rc" 0 "run the gemma3 wrapper"
python3 - "$tmp/g3a.safetensors" "$tmp/g3b.safetensors" <<'PY' && ok || bad "gemma3 wrapper and gemma3_text give different attention"
import json, struct, sys
def tensors(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
sys.exit(0 if a.keys() == b.keys() and len(a) >= 6 and all(a[k] == b[k] for k in a) else 1)
PY

# F16 and BF16 weights (real checkpoints' dtypes): the mistral fixture converted, run as stored
for dt in F16 BF16; do
    rm -rf "$tmp/h"; mkdir "$tmp/h"; cp "$FX/mistral/"*.json "$tmp/h/"
    python3 - "$FX/mistral/model.safetensors" "$tmp/h/model.safetensors" "$dt" <<'PY'
import json, struct, sys
src, dst, dt = sys.argv[1:]
b = open(src, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); base = 8 + n
out, hdr, off = [], {}, 0
for k, v in sorted(((k, v) for k, v in h.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0]):
    raw = b[base + v["data_offsets"][0]:base + v["data_offsets"][1]]
    xs = struct.unpack("<%df" % (len(raw) // 4), raw)
    if dt == "F16":
        data = struct.pack("<%de" % len(xs), *xs)
    else:   # bfloat16: the high half of the f32, rounded to nearest even
        words = struct.unpack("<%dI" % len(xs), raw)
        data = struct.pack("<%dH" % len(xs), *(((w + 0x7FFF + ((w >> 16) & 1)) >> 16) & 0xFFFF for w in words))
    hdr[k] = {"dtype": dt, "shape": v["shape"], "data_offsets": [off, off + len(data)]}
    out.append(data); off += len(data)
hb = json.dumps(hdr).encode(); hb += b" " * ((8 - len(hb) % 8) % 8)
open(dst, "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(out))
PY
    out=$("$BIN" run "$tmp/h" "The cat sat on the mat." --generate 3 -o "$tmp/h.safetensors" 2>&1); rc=$?
    expect "$rc" 0 "run the $dt mistral"
    has "$out" "captured 2 layers x 4 heads" "$dt run captured"
done

# the memory budget covers the generic decoder (its estimate names the family)
out=$("$BIN" run "$FX/gemma2" "hello there" --max-memory 10K -o "$tmp/m.safetensors" 2>&1); rc=$?
expect "$rc" 1 "memory budget: exit code"
has "$out" "gemma2: this run needs about" "memory budget: the estimate"

# 2. refusals by name: a copy of the gpt2 folder with one field changed
refuse() {   # NAME PYTHON-EDIT EXPECTED-MESSAGE
    rm -rf "$tmp/m"; cp -r "$FX/llama" "$tmp/m"
    python3 - "$tmp/m/config.json" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); exec(sys.argv[2]); json.dump(c, open(sys.argv[1], "w"))
PY
    out=$("$BIN" run "$tmp/m" "hello" -o "$tmp/x.safetensors" 2>&1); rc=$?
    expect "$rc" 1 "$1: exit code"
    has "$out" "$3" "$1: message"
}
refuse "model_type" 'c["model_type"] = "xlnet"' 'model_type "xlnet" is not supported'
refuse "rope type" 'c["rope_scaling"] = {"rope_type": "longrope", "factor": 2.0}' 'rope_scaling type "longrope" is not supported'
refuse "hidden_act" 'c["hidden_act"] = "relu"' 'hidden_act "relu" is not supported'
refuse "qwen2 windows" 'c.update(model_type="qwen2", use_sliding_window=True, sliding_window=4)' 'use_sliding_window = true'
# a dtype gaze does not run: an I32 tensor in place of the final norm
rm -rf "$tmp/m"; cp -r "$FX/gemma" "$tmp/m"
python3 - "$tmp/m/model.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]; b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
h["model.norm.weight"]["dtype"] = "I32"
hb = json.dumps(h).encode(); hb += b" " * ((8 - len(hb) % 8) % 8)
open(p, "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
PY
out=$("$BIN" run "$tmp/m" "hello" -o "$tmp/x.safetensors" 2>&1); rc=$?
expect "$rc" 1 "dtype: exit code"
has "$out" "model.norm.weight has dtype I32" "dtype: message"
e2e_finish
