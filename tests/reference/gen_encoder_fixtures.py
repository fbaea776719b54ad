#!/usr/bin/env python3
"""Tiny random BERT-like encoders and their golden outputs, for tests/test_encoder_golden.c.

Pinned peers (requirements-encoders.txt): torch==2.5.1, transformers==4.46.3, tokenizers==0.20.3,
safetensors==0.4.5, numpy==1.26.4. CPU only, eager attention (output_attentions=True), float32.
Nothing is downloaded: the tokenizers are trained here on tests/fixtures/tokenizer_json/corpus.txt.

    /work/venv-peers/bin/python tests/reference/gen_encoder_fixtures.py [--out tests/fixtures/encoders]

For each family a folder <out>/<family>/ a user could hand to transformers' from_pretrained
(config.json, model.safetensors in F32, tokenizer.json + tokenizer_config.json + special tokens):
  roberta     RobertaModel: byte-level BPE (RobertaProcessing: <s> A </s>, <s> A </s></s> B </s>),
              positions from padding_idx + 1, type_vocab_size 1, layer_norm_eps 1e-5
  distilbert  DistilBertForMaskedLM (weights under "distilbert."): WordPiece (uncased), no token
              types, its own weight names (q_lin, sa_layer_norm, ffn.lin1, output_layer_norm)
  electra     ElectraForPreTraining (the discriminator, weights under "electra."): WordPiece,
              embedding_size 24 < hidden_size 32, so embeddings_project is used
and golden.safetensors holding, per case i of CASES: ids.i [T] (I32), offsets.i [T, 2] (I64, byte
offsets into the text or the pair, (0, 0) for special tokens), attentions.i [L, H, T, T],
hidden.i [T, C] (last hidden state). cases.json lists the cases (text, pair or null).

Weights are drawn with larger spreads than transformers' initialisation (std 0.02 would make
every attention map near uniform and the test blind): see randomise().
"""
import argparse, json, os, sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np
import tokenizers
import torch
import transformers
from safetensors.numpy import save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (BertTokenizerFast, DistilBertConfig, DistilBertForMaskedLM, ElectraConfig,
                          ElectraForPreTraining, RobertaConfig, RobertaModel, RobertaTokenizerFast)

PINS = {"torch": "2.5.1", "transformers": "4.46.3", "tokenizers": "0.20.3", "numpy": "1.26.4"}
HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "fixtures", "tokenizer_json", "corpus.txt")

CASES = [
    ("Hello world! Attention is all you need.", None),
    ("The quick brown fox jumps over the lazy dog, twice: 42 times.", None),
    ("  Spaces,\ttabs and UNUSUAL wörds — café naïve.", None),
    ("A short question?", "A longer answer that goes on for a while."),
]


def check_pins():
    got = {"torch": torch.__version__.split("+")[0], "transformers": transformers.__version__,
           "tokenizers": tokenizers.__version__, "numpy": np.__version__}
    for k, v in PINS.items():
        if got[k] != v:
            sys.exit(f"gen_encoder_fixtures: {k} {got[k]} installed, {v} pinned")


def corpus():
    with open(CORPUS, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def bpe_tokenizer(folder):
    """A byte-level BPE trained as RoBERTa's, saved as transformers saves roberta-base's."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus() + [c[0] for c in CASES], trainer)
    tok.add_special_tokens([tokenizers.AddedToken("<mask>", lstrip=True, special=True)])
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
                                                      add_prefix_space=False, trim_offsets=True)
    fast = RobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    fast.save_pretrained(folder)
    return fast


def wordpiece_tokenizer(folder):
    """An uncased WordPiece trained as BERT's (BertNormalizer, [CLS] A [SEP] B [SEP])."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(corpus() + [c[0] for c in CASES], trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    fast = BertTokenizerFast(tokenizer_object=tok, do_lower_case=True, unk_token="[UNK]", sep_token="[SEP]",
                             pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    fast.save_pretrained(folder)
    return fast


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                p.copy_((1 + 0.2 * torch.randn(p.shape, generator=g)) if name.endswith("weight")
                        else 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embeddings" in name and "project" not in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / fan_in ** 0.5))


def families(out):
    common = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, hidden_act="gelu",
                  attn_implementation="eager")
    rob = os.path.join(out, "roberta")
    tok = bpe_tokenizer(rob)
    yield "roberta", rob, tok, RobertaModel(RobertaConfig(
        vocab_size=len(tok), max_position_embeddings=66, type_vocab_size=1, pad_token_id=1, bos_token_id=0,
        eos_token_id=2, layer_norm_eps=1e-5, **common))
    dis = os.path.join(out, "distilbert")
    tok = wordpiece_tokenizer(dis)
    yield "distilbert", dis, tok, DistilBertForMaskedLM(DistilBertConfig(
        vocab_size=len(tok), max_position_embeddings=64, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
        activation="gelu", sinusoidal_pos_embds=False, pad_token_id=0, attn_implementation="eager"))
    ele = os.path.join(out, "electra")
    tok = wordpiece_tokenizer(ele)
    yield "electra", ele, tok, ElectraForPreTraining(ElectraConfig(
        vocab_size=len(tok), embedding_size=24, max_position_embeddings=64, type_vocab_size=2, **common))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "fixtures", "encoders"))
    args = ap.parse_args()
    check_pins()
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)
    for seed, (fam, folder, tok, model) in enumerate(families(args.out)):
        randomise(model, 1000 + seed)
        model.eval()
        model.save_pretrained(folder, safe_serialization=True)
        base = getattr(model, model.base_model_prefix, model)
        golden = {}
        for i, (text, pair) in enumerate(CASES):
            enc = tok(text, pair, return_offsets_mapping=True) if pair else tok(text, return_offsets_mapping=True)
            # byte offsets into the text (or the pair, for its tokens); (0, 0) for specials
            seq = enc.sequence_ids()
            offs = [(0, 0) if q is None else tuple(len((text if q == 0 else pair)[:k].encode("utf-8")) for k in o)
                    for o, q in zip(enc["offset_mapping"], seq)]
            golden[f"offsets.{i}"] = np.array(offs, dtype=np.int64).reshape(-1, 2)
            ids = torch.tensor([enc["input_ids"]])
            kw = {}
            if "token_type_ids" in enc and fam != "distilbert":
                kw["token_type_ids"] = torch.tensor([enc["token_type_ids"]])
            with torch.no_grad():
                o = base(input_ids=ids, output_attentions=True, **kw)
            golden[f"ids.{i}"] = np.array(enc["input_ids"], dtype=np.int32)
            golden[f"attentions.{i}"] = torch.stack([a[0] for a in o.attentions]).numpy().astype(np.float32)
            golden[f"hidden.{i}"] = o.last_hidden_state[0].numpy().astype(np.float32)
        save_file(golden, os.path.join(folder, "golden.safetensors"))
        with open(os.path.join(folder, "cases.json"), "w", encoding="utf-8") as f:
            json.dump([{"text": t, "pair": p} for t, p in CASES], f, ensure_ascii=False, indent=1)
        print(f"{fam}: {folder}")


if __name__ == "__main__":
    main()
