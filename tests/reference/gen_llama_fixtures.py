#!/usr/bin/env python3
"""Golden fixtures for gaze's Llama path (src/models/llama.c) on SmolLM2-135M-Instruct.Q4_1.gguf.

Peers (pinned in requirements-llama.txt):
  * transformers 4.46.3 GGUF loader, torch 2.5.1 on CPU: AutoModelForCausalLM.from_pretrained(
    folder, gguf_file=..., torch_dtype=float32, attn_implementation="eager") dequantizes every
    weight to f32 exactly as gaze's exact mode does; output_attentions=True gives the softmax
    weights. The GGUF has no output.weight (tied embedding) but transformers 4.46.3 reads
    tie_word_embeddings=False from it and leaves lm_head random, so the model is loaded with
    tie_word_embeddings=True (checked below: lm_head is the embedding).
  * llama.cpp (libllama from the PyPI wheel llama-cpp-py-sync, loaded as in gen_bpe_fixtures.py):
    the reference for token ids, and its greedy tokens with its own quantized kernels (what
    gaze's default quantized mode is compared against).

Token ids and BOS. This GGUF has tokenizer.ggml.add_bos_token = false: llama.cpp (and gaze) add
no BOS. transformers' GGUF tokenizer always prepends BOS (<|im_start|>, id 1), and on a few
non-ASCII digit forms it splits differently (see tests/fixtures/bpe/cases.json). So llama.cpp's
ids are the reference; HF's model is fed exactly those ids (no BOS), and cases.json records
HF's own tokenization and whether it agrees (BOS aside) for information only.

For each prompt: the ids; HF's top-1 next token and its logit margin over the runner-up; 32
greedy tokens from HF generate(do_sample=False) with the margin (top-1 minus top-2 logit) of
every step (a small margin flags a near-tie where f32 rounding may flip the choice); llama.cpp's
greedy tokens; and, from one HF forward over prompt + generated tokens, the attention weights of
layers 0, 14 and 29 (all 9 heads) for a subset of query rows (prompt and generated rows; a
trailing EOS is never fed, so it has no row) in case_NN.safetensors.

  python3 -m venv /tmp/venv-llama && /tmp/venv-llama/bin/pip install -r tests/reference/requirements-llama.txt
  /tmp/venv-llama/bin/python tests/reference/gen_llama_fixtures.py [--gguf PATH] [--out tests/fixtures/llama]
"""
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_decoder_ref as ref  # noqa: E402  (first: it sets HF offline; prompts, llama.cpp, greedy, rows, case files)

import torch  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

DEFAULT_GGUF = os.path.join(ref.GAZE_HOME, "models", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
GENERATOR = "tests/reference/gen_llama_fixtures.py"

PINS = {"torch": "2.5.1", "transformers": "4.46.3", "tokenizers": "0.20.3", "gguf": "0.10.0",
        "numpy": "1.26.4", "safetensors": "0.4.5", "llama-cpp-py-sync": "0.11739"}

LAYERS = [0, 14, 29]


def main():
    args, versions, sha = ref.start(DEFAULT_GGUF, os.path.join(ref.ROOT, "tests", "fixtures", "llama"), PINS, 2)
    tok = AutoTokenizer.from_pretrained(os.path.dirname(args.gguf), gguf_file=os.path.basename(args.gguf))
    model = ref.load_model(args.gguf, tie_word_embeddings=True)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(), "lm_head not tied"
    cfg = model.config
    assert cfg.num_hidden_layers == 30 and cfg.num_attention_heads == 9 and cfg.num_key_value_heads == 3

    ll = ref.open_llamacpp(args.gguf, versions)

    cases = []
    for ci, (name, text) in enumerate(ref.PROMPTS):
        ids = ll.tokenize(text)
        hf_ids = tok(text, add_special_tokens=True).input_ids
        hf_bos = len(hf_ids) > 0 and hf_ids[0] == tok.bos_token_id
        hf_body = hf_ids[1:] if hf_bos else hf_ids
        T = len(ids)
        gen, margins, seq, last_fed = ref.hf_greedy(model, ids, cfg.eos_token_id, cfg.eos_token_id)
        with torch.no_grad():
            out = model(torch.tensor([seq]), output_attentions=True)
        # the first generated token must be the argmax of the prompt's last logits (same model)
        top1 = int(torch.argmax(out.logits[0, T - 1]))
        assert top1 == gen[0], (name, top1, gen[0])
        rows = ref.pick_rows(T, len(seq), last_fed)
        fname_case = ref.save_attention(args.out, ci, name, out.attentions, rows, LAYERS, GENERATOR)
        llg = ll.greedy(ids, ref.N_GEN)
        case = ref.case_record(name, text, ids, top1, gen, margins, llg, fname_case, rows, LAYERS, extra={
            "hf_tokenizer_ids": hf_ids, "hf_tokenizer_adds_bos": hf_bos, "hf_tokenizer_agrees": hf_body == ids})
        cases.append(case)
        ref.report(ci, case, "hf_tok=%s " % ("ok" if case["hf_tokenizer_agrees"] else "DIFF"))
    ll.close()

    long_T = next(c["n_prompt"] for c in cases if c["name"] == "long_300")
    assert long_T >= 300, long_T
    doc = {
        "generator": GENERATOR,
        "gguf": os.path.basename(args.gguf), "gguf_sha256": sha,
        "versions": versions, "python": platform.python_version(),
        "reference": "transformers GGUF loader (dequantized f32, eager attention, tied lm_head) fed "
                     "llama.cpp's token ids; greedy = HF generate(do_sample=False, eos 2); attention from "
                     "one HF forward over prompt + generated tokens",
        "bos": "GGUF add_bos_token=false: llama.cpp and gaze add no BOS; HF's GGUF tokenizer prepends "
               "<|im_start|> (id 1), so HF is fed llama.cpp's ids",
        "n_gen": ref.N_GEN, "layers": LAYERS,
        "config": {"n_layers": cfg.num_hidden_layers, "n_heads": cfg.num_attention_heads,
                   "n_kv_heads": cfg.num_key_value_heads, "n_embd": cfg.hidden_size,
                   "rope_theta": cfg.rope_theta, "rms_norm_eps": cfg.rms_norm_eps},
        "cases": cases,
    }
    path = os.path.join(args.out, "cases.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=1)
    ref.fixtures_total(path, cases, long_T, args.out)


if __name__ == "__main__":
    sys.exit(main())
