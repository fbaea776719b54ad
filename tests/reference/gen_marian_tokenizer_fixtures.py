#!/usr/bin/env python3
"""A tiny Marian (opus-mt layout) folder with real SentencePiece models, for text/marian.c.

Trains two sentencepiece unigram models (source.spm on marian_corpus.txt, target.spm on
marian_corpus_target.txt, both committed beside this script; nmt_nfkc normalization, the
trainer's defaults otherwise, one thread so the result is reproducible), builds vocab.json as
opus-mt's (</s> 0, <unk> 1, the source pieces, the target pieces not already there, a language
code, <pad> last), saves MarianTokenizer's tokenizer_config.json and a tiny random MarianMTModel,
and writes under tests/fixtures/seq2seq/marian_text/:
  cases.json          MarianTokenizer(text).input_ids and decode(ids) / decode(skip_special) for
                      CASES (mixed scripts, whitespace runs, digits, unknown characters, special
                      tokens and language codes written in the text)
  golden.safetensors  as gen_seq2seq_fixtures.py (src_ids, out_ids, enc/dec/cross_attn, logits)
                      for TEXT through the tokenizer, and out_text = decode(out_ids) in cases.json

Run with /work/venv-peers/bin/python (pins: requirements-marian.txt).
"""
import json
import os
import shutil
import tempfile

import numpy as np
import sentencepiece as spm
import torch
from safetensors.torch import save_file
from transformers import MarianConfig, MarianMTModel, MarianTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "seq2seq", "marian_text")
TEXT = "the quick brown fox jumps over the lazy dog near the river bank"
CASES = [
    TEXT, "", " ", "hello world", "  leading and   inner   runs  of spaces ", "tab\there\nnewline\r\nend",
    "numbers 123 4567 and 2024-12-07", "Привет мир", "日本語のテキスト", "naïve café ÜBER straße",
    "ｆｕｌｌｗｉｄｔｈ ①②③ ﬁ ligature", "unknown ☃ snowman ☃☃ and 🦊 emoji", "mixed Привет the 日本 fox",
    "a</s>b", "x <unk> y <pad>z", ">>de<< the fox", "the >>de<< fox", ">>xx<< unknown code", ">> not a code",
    "e\u0301 combining", "zero\u200bwidth", "\u00a0nbsp\u3000ideographic", "the.fox,jumps!over?", "<s> control text </s>",
    "\u2581already \u2581\u2581marked", "\x01control\x7f chars\x1b", "a<<b>>c", ">>de<<", ">>de<<>>fr<< x", "trailing<<",
    "   ", "line\u2028sep\u2029par", "\u01c4 titlecase \u1e9e", "\uff76\uff80\uff76\uff85 halfwidth", "\u2460\u2461\u2462\u2463",
    "fox " * 60, "</s></s>the<unk><pad>", "the\n>>de<< fox", ">>de<<\nfox<<", "1234567890 0.5 -3,14 1e10",
]


def train(corpus, prefix, size):
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=prefix, vocab_size=size, model_type="unigram",
                                   character_coverage=1.0, num_threads=1, minloglevel=2,
                                   hard_vocab_limit=False)


def main():
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp()
    train(os.path.join(HERE, "marian_corpus.txt"), os.path.join(tmp, "src"), 150)
    train(os.path.join(HERE, "marian_corpus_target.txt"), os.path.join(tmp, "tgt"), 110)
    shutil.copy(os.path.join(tmp, "src.model"), os.path.join(OUT, "source.spm"))
    shutil.copy(os.path.join(tmp, "tgt.model"), os.path.join(OUT, "target.spm"))
    vocab = {"</s>": 0, "<unk>": 1}
    for f in ("src.model", "tgt.model"):
        sp = spm.SentencePieceProcessor(model_file=os.path.join(tmp, f))
        for i in range(sp.get_piece_size()):
            p = sp.id_to_piece(i)
            if not (sp.is_control(i) or sp.is_unknown(i)) and p not in vocab:
                vocab[p] = len(vocab)
    vocab[">>de<<"] = len(vocab)
    vocab["<pad>"] = len(vocab)
    with open(os.path.join(OUT, "vocab.json"), "w", encoding="utf-8") as fh:
        json.dump(vocab, fh, ensure_ascii=False, indent=1)
    tok = MarianTokenizer(source_spm=os.path.join(OUT, "source.spm"), target_spm=os.path.join(OUT, "target.spm"),
                          vocab=os.path.join(OUT, "vocab.json"))
    tok.save_pretrained(tmp)
    shutil.copy(os.path.join(tmp, "tokenizer_config.json"), os.path.join(OUT, "tokenizer_config.json"))
    V = len(vocab)
    cases = []
    for t in CASES:
        ids = tok(t).input_ids
        cases.append({"text": t, "ids": ids, "decode": tok.decode(ids), "decode_skip": tok.decode(ids, skip_special_tokens=True)})
    torch.manual_seed(1234)
    model = MarianMTModel(MarianConfig(
        vocab_size=V, decoder_vocab_size=V, d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=48,
        max_position_embeddings=64, activation_function="swish", scale_embedding=True, init_std=0.1, pad_token_id=V - 1,
        eos_token_id=0, decoder_start_token_id=V - 1, forced_eos_token_id=0, bad_words_ids=[[V - 1]], no_repeat_ngram_size=2)).eval()
    with torch.no_grad():   # sharpen the attention (random init leaves it near uniform)
        for n, p in model.named_parameters():
            if "q_proj" in n or "k_proj" in n:
                p.mul_(3.0)
    model.config._attn_implementation = "eager"
    model.save_pretrained(OUT, safe_serialization=True)
    src = torch.tensor([tok(TEXT).input_ids])
    with torch.no_grad():
        out = model.generate(input_ids=src, num_beams=1, do_sample=False, max_new_tokens=8)
        r = model(input_ids=src, decoder_input_ids=out, output_attentions=True)
    save_file({
        "src_ids": src[0].clone(), "out_ids": out[0].clone(),
        "enc_attn": torch.cat(r.encoder_attentions, 0).contiguous(),
        "dec_attn": torch.cat(r.decoder_attentions, 0).contiguous(),
        "cross_attn": torch.cat(r.cross_attentions, 0).contiguous(),
        "logits": r.logits[0].contiguous(),
    }, os.path.join(OUT, "golden.safetensors"))
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as fh:
        json.dump({"text": TEXT, "out_ids": out[0].tolist(), "out_text": tok.decode(out[0].tolist()),
                   "out_text_skip": tok.decode(out[0].tolist(), skip_special_tokens=True), "cases": cases},
                  fh, ensure_ascii=False, indent=1)
    shutil.rmtree(tmp)
    print("vocab", V, "src", src[0].tolist(), "out", out[0].tolist())


if __name__ == "__main__":
    main()
