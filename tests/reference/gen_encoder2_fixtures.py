#!/usr/bin/env python3
"""Tiny random XLM-RoBERTa and ModernBERT folders and their golden outputs, for
tests/test_encoder2_golden.c.

Pinned peers (requirements-encoder2.txt): torch==2.5.1, transformers==4.52.4 (ModernBERT needs
4.48+: /work/venv-gemma3), tokenizers (the BPE trainer). CPU only, eager attention
(output_attentions=True), float32, seeded.

    /work/venv-gemma3/bin/python tests/reference/gen_encoder2_fixtures.py [--out tests/fixtures/encoders]

Folders (config.json, model.safetensors F32, tokenizer.json, tokenizer_config.json):
  xlm-roberta      XLMRobertaModel (positions offset by padding_idx + 1), the Unigram tokenizer
                   of tests/fixtures/unigram/xlmr.json (the real nmt_nfkc precompiled charsmap)
  modernbert       ModernBertModel: 4 layers of 2 heads, global every 3rd (0 and 3), local window 128
                   (+-64), RoPE 160000 global / 10000 local, GeGLU with exact GELU, no biases,
                   LayerNorm without bias; a byte-level BPE tokenizer trained here with
                   `tokenizers` ([CLS] $A [SEP])
  modernbert_bias  the same with attention_bias, mlp_bias and norm_bias true and
                   hidden_activation gelu_pytorch_tanh, global every 2nd layer
and golden.safetensors in each: per case i, ids.i [T] (int32), attentions.i [L, H, T, T],
hidden.i [T, C] (last_hidden_state: ModernBERT after final_norm); cases.json lists the texts
(a pair for XLM-R as {"text", "pair"}). One text is longer than 128 tokens so local layers mask.
"""
import argparse
import json
import os
import shutil

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers, decoders
from transformers import ModernBertConfig, ModernBertModel, PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

PINS = {"torch": "2.5.1", "transformers": "4.52.4"}
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

LONG = ("The history of computing is a story of abstraction. Early machines were programmed by rewiring panels; "
        "later, stored programs let the same hardware run many tasks. Assembly languages gave names to "
        "instructions, and compilers turned readable code into machine words. ") + "In 1957 FORTRAN showed that a compiler could produce fast code."
TEXTS = ["Hello world", "Café déjà vu: naïve façade!", "ＦＵＬＬ width ①㍿ and  spaces", "a", LONG]
PAIR = ("How old is the tower?", "It was built in 1889.")


def check_pins():
    got = {"torch": torch.__version__.split("+")[0], "transformers": transformers.__version__}
    for k, v in PINS.items():
        if got[k] != v:
            raise SystemExit("pinned %s==%s, found %s" % (k, v, got[k]))


def randomise(model, seed, spread=1.5):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name.lower():
                p.copy_((1 + 0.2 * torch.randn(p.shape, generator=g)) if name.endswith("weight") else 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embeddings" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                p.copy_(torch.randn(p.shape, generator=g) * (spread / fan_in ** 0.5))


def bpe_tokenizer(out):
    lines = open(os.path.join(ROOT, "tests/fixtures/tokenizer_json/corpus.txt"), encoding="utf-8").read().split("\n")
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    t.decoder = decoders.ByteLevel()
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    t.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=400, special_tokens=specials, show_progress=False,
                                                     initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    t.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                     special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=t, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                                   pad_token="[PAD]", mask_token="[MASK]")
    fast.save_pretrained(out)
    for f in ("special_tokens_map.json",):
        if os.path.exists(os.path.join(out, f)):
            os.remove(os.path.join(out, f))
    return fast


def golden(model, tok, cases, out):
    model.config._attn_implementation = "eager"
    model.eval()
    tensors = {}
    for i, c in enumerate(cases):
        enc = tok(c["text"], c.get("pair"), return_tensors="pt")
        with torch.no_grad():
            o = model(input_ids=enc["input_ids"], output_attentions=True)
        tensors["ids.%d" % i] = enc["input_ids"][0].numpy().astype(np.int32)
        tensors["attentions.%d" % i] = torch.stack([a[0] for a in o.attentions]).numpy().astype(np.float32)
        tensors["hidden.%d" % i] = o.last_hidden_state[0].numpy().astype(np.float32)
        print("  case %d: %d tokens" % (i, enc["input_ids"].shape[1]))
    save_file(tensors, os.path.join(out, "golden.safetensors"))
    with open(os.path.join(out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)


def save(model, out):
    model.save_pretrained(out, safe_serialization=True)
    for f in ("generation_config.json",):
        if os.path.exists(os.path.join(out, f)):
            os.remove(os.path.join(out, f))


def xlmr(base):
    out = os.path.join(base, "xlm-roberta")
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(ROOT, "tests/fixtures/unigram/xlmr.json"), os.path.join(out, "tokenizer.json"))
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(out, "tokenizer.json"), bos_token="<s>", eos_token="</s>",
                                  unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "XLMRobertaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                   "pad_token": "<pad>", "mask_token": "<mask>", "cls_token": "<s>", "sep_token": "</s>",
                   "model_max_length": 512}, f, indent=1)
    V = Tokenizer.from_file(os.path.join(out, "tokenizer.json")).get_vocab_size()
    torch.manual_seed(0)
    cfg = XLMRobertaConfig(vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                           max_position_embeddings=514, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    model = XLMRobertaModel(cfg, add_pooling_layer=False)
    randomise(model, 1)
    save(model, out)
    cases = [{"text": t} for t in TEXTS] + [{"text": PAIR[0], "pair": PAIR[1]}]
    golden(model, tok, cases, out)


def modernbert(base, name, spread=1.5, **kw):
    out = os.path.join(base, name)
    os.makedirs(out, exist_ok=True)
    tok = bpe_tokenizer(out)
    torch.manual_seed(0)
    cfg = ModernBertConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=48, num_hidden_layers=4,
                           num_attention_heads=2, max_position_embeddings=512, local_attention=128,
                           pad_token_id=3, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2, **kw)
    model = ModernBertModel(cfg)
    randomise(model, 2, spread)
    save(model, out)
    golden(model, tok, [{"text": t} for t in TEXTS], out)


def main():
    check_pins()
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/fixtures/encoders"))
    a = ap.parse_args()
    print("xlm-roberta")
    xlmr(a.out)
    print("modernbert")
    modernbert(a.out, "modernbert")
    print("modernbert_bias")
    # a softer spread: with biases and a 500 RoPE base the 188-token case's last layer is so sharp
    # that float32 rounding (transformers' own is 3e-6 from float64 there) nears the 1e-5 bound
    modernbert(a.out, "modernbert_bias", spread=1.2, attention_bias=True, mlp_bias=True, norm_bias=True,
               hidden_activation="gelu_pytorch_tanh", global_attn_every_n_layers=2, global_rope_theta=10000.0,
               local_rope_theta=500.0)


if __name__ == "__main__":
    main()
