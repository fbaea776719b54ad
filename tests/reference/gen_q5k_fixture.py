#!/usr/bin/env python3
"""Golden fixture for tests/test_quant.c: Q5_K dequantization as computed by the `gguf` Python
package (llama.cpp's own reader), on random super-blocks with sane and extreme f16 scales.

Pinned peers:  pip install gguf==0.10.0 numpy==1.26.4   (the shared /work/venv-peers has them)
Run:           python3 tests/reference/gen_q5k_fixture.py > tests/fixtures/quant_q5k.json

Floats are stored as uint32 bit patterns so the comparison can be bitwise; bytes as hex.
"""
import json
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize
from gguf.constants import GGML_QUANT_SIZES

SEED = 20261207


def main():
    rng = np.random.default_rng(SEED)
    n_blocks = 6
    _, ts = GGML_QUANT_SIZES[T.Q5_K]
    raw = rng.integers(0, 256, size=(n_blocks, ts), dtype=np.uint8)
    # d and dmin: normal values, then zero, subnormals and the largest finite half
    v = rng.normal(0.0, 0.02, size=(n_blocks, 2)).astype(np.float32)
    special = [(0.0, 1e-3), (6.1e-5, -2.5e-6), (65504.0, 3.0e-7), (-1.0, 0.0)]
    for i, (d, dm) in enumerate(special):
        v[i] = (d, dm)
    raw[:, 0:4] = np.asarray(v, dtype=np.float16).view(np.uint8).reshape(n_blocks, 4)
    deq = dequantize(raw.reshape(-1), T.Q5_K)
    doc = {"generator": "tests/reference/gen_q5k_fixture.py", "seed": SEED, "type": "Q5_K",
           "n": int(deq.size), "bytes": raw.tobytes().hex(),
           "out_bits": [int(u) for u in np.ascontiguousarray(deq, dtype=np.float32).view(np.uint32).ravel()]}
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
