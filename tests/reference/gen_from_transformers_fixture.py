#!/usr/bin/env python3
"""Fixture for python/tests/test_hf_fixture.py: transformers' own attentions for the tiny models
of python/tests/hf_models.py (BERT, GPT-2, Llama with grouped KV heads; random weights from a
fixed seed, nothing downloaded), so that CI, which has no torch, checks gaze.hf.runs_from_batch
(the half of gaze.from_transformers after the forward pass) on real transformers outputs.

Pinned peers (requirements-bert.txt): torch==2.5.1, transformers==4.46.3, tokenizers==0.20.3,
numpy (any 1.26 / 2.x: the file is plain float32 and int32 arrays).

    /tmp/venv-bert/bin/python tests/reference/gen_from_transformers_fixture.py [--out python/tests/data/from_transformers.npz]

For each kind K the .npz holds: K.batched float32 [layers, batch, heads, P, P], transformers'
attentions of the texts as one right-padded batch with an attention mask; bert.nomask, the
BERT batch without the mask (the padding then gets weight); K.lengths int32 [batch]; K.ids int32
[batch, P] (0-padded); K.alone_B float32 [layers, heads, n, n], sequence B run alone, unpadded.
meta: a JSON string (versions, texts, vocabulary).
"""
import argparse, json, pathlib, sys, tempfile

import numpy as np
import torch
import transformers

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "python" / "tests"))
import hf_models  # noqa: E402

PINS = {"torch": "2.5.1", "transformers": "4.46.3"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parents[2] / "python/tests/data/from_transformers.npz"))
    args = ap.parse_args()
    got = {"torch": torch.__version__.split("+")[0], "transformers": transformers.__version__}
    if got != PINS:
        sys.exit(f"pinned {PINS}, found {got}")
    torch.set_num_threads(1)
    arrays = {}
    with tempfile.TemporaryDirectory() as d:
        tok = hf_models.tokenizer(d)
        for kind in hf_models.KINDS:
            model = hf_models.build(kind)
            encs = [dict(tok(t)) for t in hf_models.TEXTS]
            lengths = [len(e["input_ids"]) for e in encs]
            inputs = hf_models.padded(model, encs)
            ids = inputs["input_ids"]
            with torch.inference_mode():
                batched = model(**inputs, output_attentions=True).attentions
                # decoders never see right padding (the causal mask hides it): the unmasked case is BERT's
                nomask = (model(**hf_models.padded(model, encs, mask=False), output_attentions=True).attentions
                          if kind == "bert" else None)
            arrays[f"{kind}.batched"] = np.stack([a.float().numpy() for a in batched])
            if nomask is not None:
                arrays[f"{kind}.nomask"] = np.stack([a.float().numpy() for a in nomask])
            arrays[f"{kind}.lengths"] = np.array(lengths, np.int32)
            arrays[f"{kind}.ids"] = ids.numpy().astype(np.int32)
            for b, e in enumerate(encs):
                arrays[f"{kind}.alone_{b}"] = np.stack(hf_models.alone(model, e))
    meta = {"versions": got, "texts": hf_models.TEXTS, "vocab": hf_models.VOCAB, "kinds": list(hf_models.KINDS),
            "script": "tests/reference/gen_from_transformers_fixture.py"}
    np.savez_compressed(args.out, meta=np.array(json.dumps(meta)), **arrays)
    print(f"wrote {args.out}: {len(arrays)} arrays")


if __name__ == "__main__":
    main()
