#!/usr/bin/env python3
"""Tiny random decoder models of every family gaze's generic decoder runs, with golden outputs
from transformers, for tests/test_decoder_golden.c.

For each family a model with hidden size 64, 2-6 layers, GQA where the family has it and a
byte-level BPE vocabulary of 320 tokens (trained here with `tokenizers`, shared by all) is
built from a fixed seed with every parameter drawn at a scale that makes attention far from
uniform, saved as an F32 safetensors folder tests/fixtures/decoders/<family>/ (config.json,
model.safetensors or shards + index, tokenizer.json, tokenizer_config.json), and run with attn_implementation="eager":

  golden.safetensors: per text i
    case{i}.ids       I32 [T]            token ids of the text (no BOS: the tokenizer adds none)
    case{i}.attn.{l}  F32 [H, T, T]      every layer's attention weights (output_attentions)
    case{i}.logits    F32 [V]            the last position's final logits
    case{i}.greedy    I32 [T + n]        prompt + greedy continuation (8 tokens, or to EOS), by
                                         full re-evaluation at each step (no cache)
  and metadata: texts (JSON list), loss.{i} (mean next-token loss over the prompt), family.

Run:  /work/venv-peers/bin/python tests/reference/gen_decoder_fixtures.py
with the versions of tests/reference/gen_decoder_fixtures.requirements.txt on the path
(transformers 4.51.3: the first with Gemma 3 and Qwen 3).
"""
import argparse
import json
import math
import os
import shutil

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 1234
VOCAB = 320
N_GREEDY = 8
TEXTS = [
    "The cat sat on the mat.",
    "Attention is all you need, said the paper.",
    "one two three four five six seven eight",
]
CORPUS = TEXTS + [
    "the quick brown fox jumps over the lazy dog",
    "In the beginning was the word, and the word was with the model.",
    "Heads attend to earlier tokens; some copy, some look back one step.",
    "numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12",
    "A sliding window keeps only the last few keys in view.",
]


def train_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    assert tok.get_vocab_size() <= VOCAB + 1, tok.get_vocab_size()
    return tok


def families(V):
    """(family, config class name, kwargs, save kwargs): every feature the decoder supports."""
    common = dict(vocab_size=V, hidden_size=64, num_attention_heads=4, max_position_embeddings=64,
                  bos_token_id=None, eos_token_id=0, pad_token_id=0)
    return [
        ("gpt2", "GPT2Config", dict(vocab_size=V, n_positions=64, n_embd=64, n_layer=2, n_head=4,
                                   activation_function="gelu_new", resid_pdrop=0, embd_pdrop=0, attn_pdrop=0,
                                   bos_token_id=0, eos_token_id=0), {}),
        ("gpt_neox", "GPTNeoXConfig", dict(common, num_hidden_layers=2, intermediate_size=128, rotary_pct=0.25,
                                           rotary_emb_base=10000, use_parallel_residual=True, hidden_act="gelu",
                                           tie_word_embeddings=False, attention_bias=True), {}),
        ("llama", "LlamaConfig", dict(common, num_hidden_layers=2, num_key_value_heads=2, intermediate_size=128,
                                      rope_theta=500000.0, max_position_embeddings=128, tie_word_embeddings=False,
                                      rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 16}),
         dict(max_shard_size="200KB")),   # sharded: model.safetensors.index.json
        ("mistral", "MistralConfig", dict(common, num_hidden_layers=2, num_key_value_heads=2, intermediate_size=128,
                                          sliding_window=4, tie_word_embeddings=False), {}),
        ("qwen2", "Qwen2Config", dict(common, num_hidden_layers=2, num_key_value_heads=2, intermediate_size=128,
                                      tie_word_embeddings=True,
                                      rope_scaling={"rope_type": "yarn", "factor": 4.0,
                                                    "original_max_position_embeddings": 16}), {}),
        ("qwen3", "Qwen3Config", dict(common, num_hidden_layers=2, num_key_value_heads=2, head_dim=24,
                                      intermediate_size=128, tie_word_embeddings=True), {}),
        ("gemma", "GemmaConfig", dict(common, num_hidden_layers=2, num_key_value_heads=1, head_dim=24,
                                      intermediate_size=128, hidden_act="gelu_pytorch_tanh",
                                      hidden_activation="gelu_pytorch_tanh"), {}),
        ("gemma2", "Gemma2Config", dict(common, num_hidden_layers=4, num_key_value_heads=2, head_dim=24,
                                        intermediate_size=128, sliding_window=4, query_pre_attn_scalar=20,
                                        attn_logit_softcapping=5.0, final_logit_softcapping=3.0,
                                        hidden_activation="gelu_pytorch_tanh"), {}),
        ("gemma3_text", "Gemma3TextConfig", dict(common, num_hidden_layers=6, num_key_value_heads=2, head_dim=24,
                                                 intermediate_size=64, sliding_window=4, sliding_window_pattern=6,
                                                 rope_theta=1000000.0, rope_local_base_freq=10000.0,
                                                 query_pre_attn_scalar=24,
                                                 rope_scaling={"rope_type": "linear", "factor": 2.0}), {}),
        ("phi3", "Phi3Config", dict(common, num_hidden_layers=2, num_key_value_heads=2, intermediate_size=128,
                                    partial_rotary_factor=0.5, original_max_position_embeddings=64,
                                    sliding_window=None, tie_word_embeddings=False), {}),
    ]


def randomize(model, family, gen):
    """Every parameter drawn from a fixed generator: norms near their identity (Gemma's 1 + w
    near 1), biases and weights large enough that heads attend sharply."""
    plus1 = family.startswith("gemma")
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=gen)
            if "norm" in name or ".ln_" in name or "ln_f" in name or "layernorm" in name:
                p.copy_((0.0 if plus1 and name.endswith("weight") else 1.0) * (name.endswith("weight")) + 0.1 * r)
            elif name.endswith("bias"):
                p.copy_(0.1 * r)
            elif "wpe" in name:
                p.copy_(0.3 * r)
            elif "embed" in name or "wte" in name:
                p.copy_(1.0 * r)
            else:
                p.copy_(0.25 * r)


def greedy(model, ids, eos):
    seq = list(ids)
    for _ in range(N_GREEDY):
        with torch.no_grad():
            out = model(torch.tensor([seq]), use_cache=False)
        nxt = int(out.logits[0, -1].argmax())
        seq.append(nxt)
        if nxt == eos:
            break
    return seq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "decoders"))
    ap.add_argument("--only", default=None, help="one family")
    args = ap.parse_args()
    torch.manual_seed(SEED)
    tok = train_tokenizer()
    # model_max_length given: transformers' default (1e30) is an integer past 64 bits in the JSON
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", model_max_length=64)
    V = tok.get_vocab_size()
    for family, cls, kw, save_kw in families(V):
        if args.only and family != args.only:
            continue
        cfg = getattr(transformers, cls)(**kw)
        cfg._attn_implementation = "eager"
        gen = torch.Generator().manual_seed(SEED)
        torch.manual_seed(SEED)
        model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", torch_dtype=torch.float32)
        randomize(model, family, gen)
        model.eval()
        folder = os.path.join(args.out, family)
        shutil.rmtree(folder, ignore_errors=True)
        model.save_pretrained(folder, safe_serialization=True, **save_kw)
        fast.save_pretrained(folder)
        for extra in ("special_tokens_map.json", "generation_config.json"):
            if os.path.exists(os.path.join(folder, extra)):
                os.remove(os.path.join(folder, extra))
        tensors, meta = {}, {"family": family, "texts": json.dumps(TEXTS), "transformers": transformers.__version__}
        for i, text in enumerate(TEXTS):
            ids = tok.encode(text).ids
            x = torch.tensor([ids])
            with torch.no_grad():
                out = model(x, output_attentions=True, use_cache=False, labels=x)
            tensors[f"case{i}.ids"] = torch.tensor(ids, dtype=torch.int32)
            for l, a in enumerate(out.attentions):
                tensors[f"case{i}.attn.{l}"] = a[0].float().contiguous()
            tensors[f"case{i}.logits"] = out.logits[0, -1].float().contiguous()
            tensors[f"case{i}.greedy"] = torch.tensor(greedy(model, ids, 0), dtype=torch.int32)
            meta[f"loss.{i}"] = repr(float(out.loss))
        save_file(tensors, os.path.join(folder, "golden.safetensors"), metadata=meta)
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        print(f"{family}: {size / 1024:.0f} KiB, {sum(p.numel() for p in model.parameters())} parameters")
        assert size < 1 << 20, f"{family} folder is {size} bytes"


if __name__ == "__main__":
    main()
