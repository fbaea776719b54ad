#!/usr/bin/env python3
"""Golden fixtures for tokenizer.json BPE (src/text/tokenizer_json.c): small tokenizers trained
with Hugging Face `tokenizers` on tests/fixtures/tokenizer_json/corpus.txt in the shapes of the
real models' tokenizer.json files (no download: the real files are not reachable here), and the
ids `tokenizers` gives on CASES (>= 200 strings) with add_special_tokens=True (and False for
some). Writes tests/fixtures/tokenizer_json/:
  gpt2.json      ByteLevel(use_regex) pre-tokenizer, ByteLevel decoder/post-processor,
                 <|endoftext|> (GPT-2's layout)
  llama3.json    Split(Llama 3 regex) + ByteLevel(use_regex=false), ignore_merges, BOS by
                 TemplateProcessing, special tokens, a non-special added token with lstrip/rstrip
  qwen2.json     NFC normalizer, Split(Qwen2 regex) + ByteLevel, ChatML special tokens
  llama2.json    SentencePiece-style BPE: Prepend("\u2581") + Replace(" ", "\u2581") normalizers,
                 byte_fallback with <0x00>..<0xFF> in the vocab, unk fused, BOS template
  mistral.json   the same model with a Metaspace(prepend_scheme="first", split=false)
                 pre-tokenizer instead of the normalizers (newer Mistral / Llama files)
  bert.json      WordPiece in BERT's layout (BertNormalizer, BertPreTokenizer, [CLS] $A [SEP])
  cases.json     {"tokenizers": [...], "cases": [{"text", "ids": {name: [...]}, "ids_plain"}]}

Usage (pins in requirements-tokenizer.txt):
  python tests/reference/gen_tokenizer_fixtures.py [--out tests/fixtures/tokenizer_json]
"""
import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from gen_spm_fixtures import CASES as SPM_CASES  # noqa: E402

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402

LLAMA3_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
             r"\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
            r"\s*[\r\n]+|\s+(?!\S)|\s+")
META = "\u2581"


def corpus(out):
    return open(os.path.join(out, "corpus.txt"), encoding="utf-8").read().split("\n")


def byte_level(lines, pre, specials, vocab=1000, ignore_merges=False, nfc=False):
    t = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if nfc:
        t.normalizer = normalizers.NFC()
    t.pre_tokenizer = pre
    t.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                             show_progress=False)
    t.train_from_iterator(lines, tr)
    return t


def gpt2(lines):
    t = byte_level(lines, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), ["<|endoftext|>"])
    t.post_processor = processors.ByteLevel(trim_offsets=True)
    return t


def llama3(lines):
    sp = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_RE), "isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    t = byte_level(lines, pre, sp, ignore_merges=True)
    t.add_tokens([AddedToken("<tool>", lstrip=True, rstrip=True, special=False, normalized=False)])
    bos = t.token_to_id("<|begin_of_text|>")
    t.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=False),
                                            processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                                                          pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                                                          special_tokens=[("<|begin_of_text|>", bos)])])
    return t


def qwen2(lines):
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_RE), "isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    t = byte_level(lines, pre, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], nfc=True)
    t.post_processor = processors.ByteLevel(trim_offsets=False)
    return t


def spm_style(lines, metaspace):
    """Llama 2's layout: <unk> <s> </s>, <0x00>..<0xFF>, then the learned pieces."""
    t = Tokenizer(models.BPE(unk_token="<unk>"))
    t.normalizer = normalizers.Sequence([normalizers.Prepend(META), normalizers.Replace(" ", META)])
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="never", split=True)
    tr = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    t.train_from_iterator(lines, tr)
    d = json.loads(t.to_str())
    learned = sorted(d["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for tok, _ in learned:
        if tok not in vocab:
            vocab[tok] = len(vocab)
    d["model"] = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": d["model"]["merges"]}
    d["added_tokens"] = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, c in enumerate(["<unk>", "<s>", "</s>"])]
    if metaspace:
        d["normalizer"] = None
        d["pre_tokenizer"] = {"type": "Metaspace", "replacement": META, "prepend_scheme": "first", "split": False}
        d["decoder"] = {"type": "Metaspace", "replacement": META, "prepend_scheme": "first", "split": False}
    else:
        d["pre_tokenizer"] = None
        d["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": META}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    d["post_processor"] = {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    return Tokenizer.from_str(json.dumps(d))


def bert(lines):
    """WordPiece in BERT's layout (what gaze opened before this change; kept in the same table)."""
    sp = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    t = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    t.normalizer = normalizers.BertNormalizer(lowercase=True)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    t.decoder = decoders.WordPiece()
    t.train_from_iterator(lines, trainers.WordPieceTrainer(vocab_size=1000, special_tokens=sp, show_progress=False))
    t.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                     special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return t


def cases(lines):
    out = list(SPM_CASES)
    out += ["<|endoftext|>", "a<|endoftext|>b", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>", "x <tool> y", "x<tool>y",
            "  <tool>  ", "<s>hello</s>", "hello <s> world", "<unk>", " <s>", "<s> ", "</s></s>", "<|im_end|><|im_end|>",
            "unknown chars: \u2603 \u2764 \U0001f600 \u0915\u094d\u0937", "\u00e9 vs e\u0301 (NFC)", "\u212b \u2126 \u00c5",
            "\u1100\u1161\u11a8 hangul jamo", "caf\u00e9 cafe\u0301", "I'M DON'T we'Ll", "'s 're 've", "\r\n\r\n", "\u2581 \u2581\u2581"]
    rnd = random.Random(1234)
    words = [w for line in lines for w in line.split(" ") if w]
    pieces = words + [" ", "  ", "   ", "\t", "\n", "\n\n", "123", "4567", "3.14", "😀", "👍🏽", "你好", "世界", "مرحبا", "!!", "...",
                      "<s>", "<|endoftext|>", "<|im_start|>", "<tool>", "é", "ß", "\u00a0", "\u3000", "'s", "'LL"]
    while len(out) < 240:
        n = rnd.randint(1, 12)
        out.append("".join(rnd.choice(pieces) + (" " if rnd.random() < 0.5 else "") for _ in range(n)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "tokenizer_json"))
    a = ap.parse_args()
    lines = corpus(a.out)
    toks = {"gpt2": gpt2(lines), "llama3": llama3(lines), "qwen2": qwen2(lines),
            "llama2": spm_style(lines, False), "mistral": spm_style(lines, True), "bert": bert(lines)}
    for name, t in toks.items():
        t.save(os.path.join(a.out, name + ".json"), pretty=False)
    texts = cases(lines)
    out = []
    for i, text in enumerate(texts):
        c = {"text": text, "ids": {n: t.encode(text).ids for n, t in toks.items()}}
        if i % 4 == 0:
            c["ids_plain"] = {n: t.encode(text, add_special_tokens=False).ids for n, t in toks.items()}
        out.append(c)
    import tokenizers
    json.dump({"generator": "tests/reference/gen_tokenizer_fixtures.py", "tokenizers": tokenizers.__version__,
               "names": list(toks), "cases": out}, open(os.path.join(a.out, "cases.json"), "w"),
              ensure_ascii=False, separators=(",", ":"))
    print(len(texts), "cases")


if __name__ == "__main__":
    main()
