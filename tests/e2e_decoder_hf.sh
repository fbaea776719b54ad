#!/usr/bin/env bash
# Decoders from Hugging Face folders end to end: `gaze run FOLDER "text"` on the tiny GPT-2 and
# Gemma 2 fixtures (tests/fixtures/decoders) writes a run that show / heads / view read, with the
# family as its arch and each layer's sliding window in its metadata; an unsupported model_type,
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
refuse "model_type" 'c["model_type"] = "t5"' 'model_type "t5" is not supported'
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
