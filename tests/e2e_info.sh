#!/usr/bin/env bash
# `gaze info` end to end: the MiniLM weights and folder, Gemma 3's local and global layers, a run file written by Python's standard
# library (what a numpy user's tools would produce), and malformed files: exit code 1 with the
# message on stderr, never a crash (exit >= 128) and never raw control bytes on the terminal.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_info
expect() { if [ "$1" = "$2" ]; then ok; else bad "$3: got '$1', want '$2'"; fi; }
has() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: output lacks '$2'"; printf '%s\n' "$1" | head -20; fi; }
hasre() { if grep -qE -- "$2" <<<"$1"; then ok; else bad "$3: output lacks /$2/"; fi; }

# 1. The real model file and folder.
out=$("$BIN" info "$MODELS/minilm/model.safetensors" 2>&1); rc=$?
expect "$rc" 0 "info model.safetensors exit code"
has "$out" "104 tensors, 22713216 float parameters" "tensor count"
has "$out" "embeddings.word_embeddings.weight  F32 [30522, 384]  46881792 bytes" "word embeddings"
has "$out" "embeddings.position_ids  I64 [1, 512]" "position ids"
has "$out" "format = pt" "metadata"
out=$("$BIN" info "$MODELS/minilm" 2>&1); rc=$?
expect "$rc" 0 "info folder exit code"
hasre "$out" "^  num_attention_heads +12$" "config heads"
hasre "$out" "^  hidden_size +384$" "config hidden size"
hasre "$out" "^  architectures +BertModel$" "architectures"

# 2. A run file crafted with the standard library: f16 attention, hostile tokens.
python3 - "$tmp" <<'EOF'
import json, struct, sys
d = sys.argv[1]
def write(path, meta, tensors):
    hdr, blob = {"__metadata__": meta}, b""
    for name, dtype, shape, data in tensors:
        hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    h = json.dumps(hdr).encode()
    h += b" " * (-(8 + len(h)) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + blob)
T, H = 3, 2
tokens = ["[CLS]", "\x1b[31mred\u2028", "[SEP]"]
attn = []
for h in range(H):
    for i in range(T):
        attn += [1.0 / T] * T
meta = {"gaze.format_version": "1", "gaze.model": "hand-made", "gaze.arch": "bert",
        "gaze.causal": "false", "gaze.n_layers": "2", "gaze.n_heads": str(H), "gaze.n_kv_heads": str(H),
        "gaze.tokens": json.dumps(tokens), "gaze.text": "red", "gaze.offsets": "[[0,0],[0,3],[0,0]]"}
ids = struct.pack("<3i", 101, 2417, 102)
write(d + "/run.safetensors", meta,
      [("token_ids", "I32", [T], ids), ("attention.1", "F16", [H, T, T], struct.pack("<%de" % len(attn), *attn))])
bad = list(attn); bad[4] = 1.5
write(d + "/badrun.safetensors", meta,
      [("token_ids", "I32", [T], ids), ("attention.1", "F32", [H, T, T], struct.pack("<%df" % len(bad), *bad))])
EOF
out=$("$BIN" info "$tmp/run.safetensors" 2>&1); rc=$?
expect "$rc" 0 "info run exit code"
has "$out" "gaze run (format 1)" "run header"
has "$out" "model:   hand-made (arch bert, bidirectional)" "run model"
has "$out" "captured: 1 layer(s) [1], all 2 heads, all query rows" "captured"
has "$out" "attention.1  F16 [2, 3, 3]" "attention tensor"
has "$out" '\x1b[31mred' "escape sequence shown escaped"
if LC_ALL=C grep -q $'\x1b' <<<"$out"; then bad "raw ESC byte reached the terminal"; else ok; fi
out=$("$BIN" info "$tmp/badrun.safetensors" 2>&1); rc=$?
expect "$rc" 1 "invalid run exit code"
has "$out" "attention.1 [head 0, row 1, key 1]: value 1.5 outside [0, 1]" "invalid run message"

# 3. Malformed safetensors files: one message each, exit code 1.
printf '\x64\x00\x00\x00\x00\x00\x00\x00{}' >"$tmp/past_end.safetensors"
printf '\x02\x00\x00' >"$tmp/short.safetensors"
python3 - "$tmp" <<'EOF'
import struct, sys
d = sys.argv[1]
def raw(name, header, data=b""):
    open(d + "/" + name, "wb").write(struct.pack("<Q", len(header)) + header + data)
raw("dtype.safetensors", b'{"w":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}}', b"\0" * 8)
raw("trailing.safetensors", b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\0" * 12)
raw("deep.safetensors", b'{"w":' + b"[" * 100 + b"]" * 100 + b"}")
open(d + "/huge.safetensors", "wb").write(struct.pack("<Q", 2**63) + b"{}")
EOF
check_bad() {   # file, expected message fragment
    local err rc
    err=$("$BIN" info "$tmp/$1" 2>&1 >/dev/null); rc=$?
    expect "$rc" 1 "$1 exit code"
    has "$err" "gaze: $tmp/$1: " "$1 names the file"
    has "$err" "$2" "$1 message"
}
check_bad past_end.safetensors "header length at offset 0: 100 bytes but only 2 bytes follow"
check_bad short.safetensors "file is 3 bytes, too short"
check_bad dtype.safetensors "tensor 'w' (offset 9): field dtype: unknown dtype \"F7\""
check_bad trailing.safetensors "4 trailing bytes at offset"
check_bad deep.safetensors "JSON nesting deeper than 64"
check_bad huge.safetensors "exceeds the cap of 100000000"

# 4. Usage errors.
"$BIN" info >/dev/null 2>&1; expect "$?" 2 "no argument"
"$BIN" info "$tmp/nope" >/dev/null 2>&1; expect "$?" 1 "missing file"
printf 'GGUF\x03\x00\x00\x00' >"$tmp/m.gguf"
err=$("$BIN" info "$tmp/m.gguf" 2>&1); expect "$?" 1 "truncated gguf"
has "$err" "gaze: $tmp/m.gguf: " "truncated gguf names the file"
out=$("$BIN" info "$MODELS/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" 2>&1); expect "$?" 0 "gguf model"
has "$out" "llama" "gguf architecture"
case "$out" in *"attention:"*) bad "smollm2 (no sliding window) gets a per-layer attention summary";; *) ok;; esac

# 5. Gemma 3 270M (`gaze fetch gemma3`): which layers are local, their window and RoPE base.
g3="${GAZE_GEMMA3:-$MODELS/gemma3/gemma-3-270m-q4_k_m.gguf}"
if [ ! -f "$g3" ]; then
    bad "no Gemma 3 270M at $g3: run \`gaze fetch gemma3\` (or set GAZE_GEMMA3)"
else
    out=$("$BIN" info "$g3" 2>&1); expect "$?" 0 "gemma3 info"
    has "$out" "  15 local (sliding window 512, rope base 10000): 0-4, 6-10, 12-16" "gemma3 local layers"
    has "$out" "  3 global (rope base 1e+06): 5, 11, 17" "gemma3 global layers"
fi

e2e_finish
