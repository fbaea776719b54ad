#!/usr/bin/env python3
"""Golden fixtures for tests/test_quant.c: dequantization (and the 32-block reference
quantizers) as computed by the `gguf` Python package, llama.cpp's own reader/writer.

Pinned peers:  pip install gguf==0.19.0 numpy==2.4.6
Run:           python3 tests/reference/gen_quant_fixtures.py [model.gguf] > tests/fixtures/quant_dequant.json
The model defaults to $GAZE_HOME/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
(GAZE_HOME defaults to ~/.cache/gaze).

Floats are stored as uint32 bit patterns so the comparison can be bitwise; bytes as hex.
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize
from gguf.constants import GGML_QUANT_SIZES

SEED = 20240607
rng = np.random.default_rng(SEED)


def bits(a):
    return [int(v) for v in np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).ravel()]


def f16_bytes(vals):
    return np.asarray(vals, dtype=np.float16).view(np.uint8)


def random_blocks(qtype, n_blocks):
    """Random block bytes whose f16 scale fields are sane (plus a few special values)."""
    bs, ts = GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, ts), dtype=np.uint8)
    special = [0.0, 6.1e-5, 3.0e-7, -2.5e-6, 65504.0, -1.0]   # zero, subnormals, extremes
    def scales(k):
        v = rng.normal(0.0, 0.02, size=(n_blocks, k)).astype(np.float32)
        for i, s in enumerate(special[:n_blocks]):
            v[i, 0] = s
        return f16_bytes(v).reshape(n_blocks, 2 * k)
    if qtype in (T.Q4_0, T.Q5_0, T.Q8_0):
        raw[:, 0:2] = scales(1)
    elif qtype in (T.Q4_1, T.Q5_1):
        raw[:, 0:4] = scales(2)
    elif qtype == T.Q4_K:
        raw[:, 0:4] = scales(2)
    elif qtype == T.Q6_K:
        raw[:, 208:210] = scales(1)
    return raw


def synthetic():
    out = []
    n_blocks = {T.Q4_0: 8, T.Q4_1: 8, T.Q5_0: 8, T.Q5_1: 8, T.Q8_0: 8, T.Q4_K: 3, T.Q6_K: 3}
    for qtype, nb in n_blocks.items():
        raw = random_blocks(qtype, nb)
        deq = dequantize(raw.reshape(-1), qtype)
        out.append({"type": qtype.name, "type_id": int(qtype), "n": int(deq.size),
                    "bytes": raw.tobytes().hex(), "out_bits": bits(deq)})
    # F16 / BF16: every class of value, including subnormals, Inf and NaN
    h = np.concatenate([rng.integers(0, 65536, size=200, dtype=np.uint16),
                        np.array([0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, 0xFC00, 0x7E00,
                                  0x3C00, 0xBC00, 0x8001], dtype=np.uint16)])
    for qtype in (T.F16, T.BF16):
        raw = h.view(np.uint8)
        deq = dequantize(raw, qtype)
        out.append({"type": qtype.name, "type_id": int(qtype), "n": int(deq.size),
                    "bytes": raw.tobytes().hex(), "out_bits": bits(deq)})
    return out


def quantized():
    """Reference quantizers of the 32-block types (and BF16) on normal data."""
    out = []
    x = rng.normal(0.0, 1.0, size=256).astype(np.float32)
    x[:32] *= 0.001           # a block of tiny values
    x[32:64] = 0.0            # an all-zero block
    x[64] = 7.5               # an outlier
    for qtype in (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.BF16):
        q = quantize(x, qtype)
        out.append({"type": qtype.name, "type_id": int(qtype), "n": int(x.size),
                    "in_bits": bits(x), "bytes": np.asarray(q).view(np.uint8).tobytes().hex()})
    return out


def real(path):
    r = gguf.GGUFReader(path)
    by_name = {t.name: t for t in r.tensors}
    picks = [("token_embd.weight", [0, 1, 1000, 49151]),
             ("blk.0.attn_q.weight", [0, 575]),
             ("blk.0.ffn_down.weight", [3]),
             ("blk.29.attn_v.weight", [191]),
             ("blk.0.attn_norm.weight", [0]),
             ("output_norm.weight", [0])]
    out = []
    for name, rows in picks:
        t = by_name[name]
        deq = dequantize(t.data, t.tensor_type)
        deq = deq.reshape(-1, int(t.shape[0]))
        for row in rows:
            out.append({"tensor": name, "type": t.tensor_type.name, "row": row,
                        "n": int(t.shape[0]), "out_bits": bits(deq[row])})
    hist = {}
    for t in r.tensors:
        hist[t.tensor_type.name] = hist.get(t.tensor_type.name, 0) + 1
    return out, hist


def main():
    home = os.environ.get("GAZE_HOME", os.path.expanduser("~/.cache/gaze"))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        home, "models", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    real_rows, hist = real(path)
    doc = {
        "generator": "tests/reference/gen_quant_fixtures.py",
        "gguf_version": "0.19.0", "numpy_version": np.__version__, "seed": SEED,
        "model": os.path.basename(path), "model_type_histogram": hist,
        "synthetic": synthetic(), "quantize": quantized(), "real": real_rows,
    }
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
