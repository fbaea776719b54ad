#!/usr/bin/env python3
"""Writes a small encoder-decoder run file (docs/runfile.md "Encoder-decoder runs") with the
Python standard library only: a plain safetensors file, as numpy/torch writers make it. The
end-to-end tests use it to drive every command's --kind without an encoder-decoder model.

    make_encdec_run.py OUT.safetensors [--encoder-only]

Source "▁Hel lo </s>" (3 tokens), target "<pad> ▁Hal lo" (3 tokens); one layer of 2 heads in each
kind. Cross-attention (rows: target tokens, keys: source tokens):
    head 0: [1, 0, 0]  [0.5, 0.5, 0]  [0, 0, 1]
    head 1: [0.25, 0.25, 0.5]  [0, 1, 0]  [0.5, 0, 0.5]
--encoder-only leaves the target side out (an ordinary encoder run)."""
import json
import struct
import sys

SRC = ["\u2581Hel", "lo", "</s>"]
TGT = ["<pad>", "\u2581Hal", "lo"]
CROSS = [[[1, 0, 0], [0.5, 0.5, 0], [0, 0, 1]],
         [[0.25, 0.25, 0.5], [0, 1, 0], [0.5, 0, 0.5]]]
ENC = [[[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5]],
       [[1 / 3, 1 / 3, 1 / 3], [0.2, 0.6, 0.2], [0, 0, 1]]]
DEC = [[[1, 0, 0], [0.5, 0.5, 0], [0.25, 0.25, 0.5]],
       [[1, 0, 0], [0.1, 0.9, 0], [0.6, 0.2, 0.2]]]


def flat(x):
    return [v for a in x for b in a for v in b]


def main():
    out = sys.argv[1]
    encdec = "--encoder-only" not in sys.argv[2:]
    meta = {
        "gaze.format_version": "1", "gaze.model": "tiny-marian", "gaze.arch": "marian",
        "gaze.causal": "false", "gaze.n_layers": "1", "gaze.n_heads": "2", "gaze.n_kv_heads": "2",
        "gaze.tokens": json.dumps(SRC), "gaze.text": "Hello",
    }
    tensors = [("attention.0", "F32", [2, 3, 3], struct.pack("<18f", *flat(ENC)))]
    if encdec:
        meta.update({
            "gaze.kinds": json.dumps(["encoder", "decoder", "cross"]),
            "gaze.target_tokens": json.dumps(TGT), "gaze.target_text": "Hallo",
            "gaze.decoder.n_layers": "1", "gaze.decoder.n_heads": "2", "gaze.decoder.n_kv_heads": "2",
            "gaze.decoder.n_generated": "2", "gaze.cross.n_layers": "1", "gaze.cross.n_heads": "2",
            "gaze.cross.n_kv_heads": "2",
        })
        tensors += [("decoder.attention.0", "F32", [2, 3, 3], struct.pack("<18f", *flat(DEC))),
                    ("cross.attention.0", "F32", [2, 3, 3], struct.pack("<18f", *flat(CROSS)))]
    tensors.append(("token_ids", "I32", [3], struct.pack("<3i", 10, 11, 0)))
    if encdec:
        tensors.append(("target_ids", "I32", [3], struct.pack("<3i", 0, 20, 11)))
    header, off = {"__metadata__": meta}, 0
    for name, dt, shape, data in tensors:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
    h = json.dumps(header, ensure_ascii=False).encode()
    h += b" " * (-len(h) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(t[3] for t in tensors))


if __name__ == "__main__":
    main()
