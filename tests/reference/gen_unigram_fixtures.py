#!/usr/bin/env python3
"""Golden fixtures for the Unigram tokenizer (src/text/unigram.c, src/text/normalize.c): a small
SentencePiece Unigram model trained with `sentencepiece` (normalization_rule_name=nmt_nfkc, so
its precompiled_charsmap is the real nmt_nfkc double-array trie) on
tests/fixtures/tokenizer_json/corpus.txt plus a few multilingual lines, converted to a
tokenizer.json by transformers' XLMRobertaConverter (XLM-RoBERTa's exact layout: Precompiled +
Strip(right) + Replace(/ {2,}/, "\u2581"), Metaspace(always), <s> $A </s> template, <mask> with
lstrip), and a second file in the generic SentencePiece layout built with `tokenizers` from the
same pieces: byte_fallback, Metaspace(first), Strip(both), a Replace of a string, and no
post-processor. For every case the ids and byte offsets `tokenizers` gives are written.

Writes tests/fixtures/unigram/{xlmr.json, spm.json, cases.json}.
Usage (pins in requirements-unigram.txt):
  python tests/reference/gen_unigram_fixtures.py [--out tests/fixtures/unigram]
"""
import argparse
import io
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from gen_spm_fixtures import CASES as SPM_CASES  # noqa: E402

import sentencepiece as spm  # noqa: E402
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers  # noqa: E402
from transformers import XLMRobertaTokenizer  # noqa: E402
from transformers.convert_slow_tokenizer import convert_slow_tokenizer  # noqa: E402

EXTRA_LINES = [
    "Größenwahn ist übertrieben, aber Äpfel schmecken süß. Café déjà vu, naïve façade.",
    "我们今天去公园散步，天气非常好。東京は日本の首都です。ひらがなとカタカナ。",
    "한국어 텍스트입니다. Привет, мир! Как дела? Γειά σου Κόσμε. مرحبا بالعالم",
    "ＦＵＬＬ　ＷＩＤＴＨ ｆｕｌｌ ｗｉｄｔｈ １２３ ｶﾀｶﾅ ｶﾞｷﾞ",
] * 4

CASES = SPM_CASES + [
    "ＦＵＬＬ　ＷＩＤＴＨ １２３", "ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ", "①②③ ⑴ ㍿ ㌔", "ﬁne ﬂow ™ ℃ №", "x\x1ey™\x1eg",
    "a\u200bb\u200cc\u200dd\ufeffe", "soft\u00adhyphen", "tab\there", "cr\rlf\r\n",
    "<s>", "</s>", "<pad>", "<unk>", "<mask>", "a <mask> b", "a<mask>b", "<s> hello </s>",
    "hello</s></s>world", "  <mask>  ", "`` quoted '' text", "many        spaces   here  ",
    "trailing\u3000\u3000", "\u3000leading ideographic", "e\u0301\u0301 double accent",
    "Ａ\u0301 full-width with accent", "한\u1100 jamo", "👩🏽‍💻 coder", "🇯🇵🇫🇷🇩🇪", "ｰ~〜", "½⅓",
    "ǅungla ǈ", "İstanbul ıi", "ß ẞ", "Ωmega Ω", "\u2126 ohm sign", "ⅷ ⅻ", "unknown ✈ ☃ ♞",
    "end.", "..", "0.5", "x" * 300, "a<ud>  b <ud>c", "</s><ud>",
]


def train(out_dir):
    lines = open(os.path.join(ROOT, "tests/fixtures/tokenizer_json/corpus.txt"), encoding="utf-8").read().split("\n")
    lines = [ln for ln in lines if ln.strip()] + EXTRA_LINES
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, model_type="unigram",
                                   vocab_size=700, hard_vocab_limit=False, normalization_rule_name="nmt_nfkc",
                                   character_coverage=0.995, byte_fallback=False, seed_sentencepiece_size=20000,
                                   num_threads=1, minloglevel=2)
    path = os.path.join(out_dir, "spm.model.tmp")
    with open(path, "wb") as f:
        f.write(model.getvalue())
    return path


def generic(xlmr_tok, charsmap_b64):
    """The same pieces as a generic SentencePiece tokenizer.json with byte fallback."""
    d = json.loads(xlmr_tok.to_str())
    vocab = [tuple(p) for p in d["model"]["vocab"] if p[0] != "<mask>"]
    vocab += [("<0x%02X>" % b, -20.0) for b in range(256)]
    t = Tokenizer(models.Unigram(vocab, 3, True))
    t.normalizer = normalizers.Sequence([
        normalizers.Precompiled(__import__("base64").b64decode(charsmap_b64)),
        normalizers.Replace("``", '"'),
        normalizers.Strip(left=True, right=True),
    ])
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)
    t.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first")
    return t


def byte_offsets(text, offs):
    pos = [0]
    for ch in text:
        pos.append(pos[-1] + len(ch.encode("utf-8")))
    return [[pos[a], pos[b]] for a, b in offs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/fixtures/unigram"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    model = train(a.out)
    slow = XLMRobertaTokenizer(vocab_file=model)
    xlmr = convert_slow_tokenizer(slow)
    os.remove(model)
    d = json.loads(xlmr.to_str())
    charsmap = [n for n in d["normalizer"]["normalizers"] if n["type"] == "Precompiled"][0]["precompiled_charsmap"]
    gen = generic(xlmr, charsmap)
    # as xlm-roberta-base's file: every special an added token, <mask> taking the space before it
    xlmr.add_special_tokens([AddedToken("<pad>", normalized=False, special=True), AddedToken("<unk>", normalized=False, special=True),
                             AddedToken("<mask>", lstrip=True, normalized=False, special=True)])
    gen.add_special_tokens([AddedToken("</s>", normalized=False, special=True)])
    gen.add_tokens([AddedToken("<ud>", rstrip=True, normalized=False, special=False)])
    toks = {"xlmr": xlmr, "spm": gen}
    for name, t in toks.items():
        t.save(os.path.join(a.out, name + ".json"))
    # round trip through the files, as gaze reads them
    toks = {name: Tokenizer.from_file(os.path.join(a.out, name + ".json")) for name in toks}
    cases = []
    for text in CASES:
        c = {"text": text}
        for name, t in toks.items():
            for special in (True, False):
                e = t.encode(text, add_special_tokens=special)
                key = name if special else name + "_plain"
                c[key] = {"ids": e.ids, "offsets": byte_offsets(text, e.offsets)}
        cases.append(c)
    with open(os.path.join(a.out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizers": list(toks), "cases": cases}, f, ensure_ascii=False, indent=0)
    print("wrote %d cases for %s to %s" % (len(cases), ", ".join(toks), a.out))


if __name__ == "__main__":
    main()
