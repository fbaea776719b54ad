#!/usr/bin/env python3
"""Golden fixtures for the SentencePiece (SPM) tokenizer (src/text/bpe.c, GGUF "llama").

Writes, under tests/fixtures/spm/:
  gemma3_cases.json  CASES (below) tokenized by llama.cpp with the Gemma 3 270M GGUF
                     (tokenizer.ggml.model "llama", 262144 tokens): ids only, never the vocab
                     (the test reads the real GGUF). Each case is run with
                     add_special/parse_special as listed.
  tiny.gguf          a hand-built vocab-only GGUF (23 tokens with scores, byte fallback for a
                     few bytes, a control and a user-defined token) for the algorithm test that
                     CI always runs, and tiny_cases.json: llama.cpp's ids for it.

llama.cpp is the prebuilt libllama of the PyPI wheel llama-cpp-py-sync, loaded as
gen_bpe_fixtures.py does (same pins, requirements-spm.txt).

Usage:
  pip install -r tests/reference/requirements-spm.txt
  python tests/reference/gen_spm_fixtures.py --gguf gemma-3-270m-q4_k_m.gguf [--out tests/fixtures/spm]
"""
import argparse
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_bpe_fixtures import LlamaVocab, load_llama_lib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))

CASES = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", " \n ", "a", " a", "  a", "a ", "a  b", "Hello", " Hello",
    "Hello world", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
    "I'm sure you'll see they've done it; it's what we'd do.",
    "tabs\tand\ttabs", "line one\nline two\r\nline three", "trailing spaces   ", "   leading spaces",
    "multiple     spaces      inside", "\t\tindented\n\t\t\tmore", "0", "12", "123", "1234567890",
    "3.14159 2.71828 -42 +7 1e-10 0x1F", "In 2024, 1,234,567 people paid $3.14 each.",
    "Größenwahn ist übertrieben, aber Äpfel schmecken süß.", "Café déjà vu, naïve façade, cœur.",
    "我们今天去公园散步，天气非常好。", "東京は日本の首都です。ひらがなとカタカナ。", "한국어 텍스트입니다.",
    "مرحبا بالعالم، كيف حالك اليوم؟", "שלום עולם", "Привет, мир! Как дела?", "Γειά σου Κόσμε",
    "हिन्दी भाषा", "ภาษาไทย", "emoji 😀🎉👍🏽 and 👨‍👩‍👧‍👦 family", "🦙🦙🦙", "flags 🇫🇷🇯🇵",
    "mixed: abc 中文 العربية 😀 123", "def add(a, b):\n    return a + b\n",
    "int main(void) {\n\tprintf(\"%d\\n\", 42);\n}\n", "<html><body>Hi</body></html>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}", "SELECT * FROM t WHERE x = 'y';",
    "https://example.com/path?query=1&b=2#frag", "user@example.com", "C:\\Windows\\System32",
    "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n",
    "<bos>already has bos", "text<eos>more", "<unk><pad><mask>", "a<start_of_turn>b",
    "<start_of_turn> spaced <end_of_turn>", "<unused0> and <unused12>", "[multimodal] image",
    "not special: <start_of_turn without end", "\u00a0nbsp\u2003emsp\u3000ideographic",
    "zero\u200bwidth\u200djoiner", "combining e\u0301 vs \u00e9", "\u2581already escaped\u2581",
    "floccinaucinihilipilification antidisestablishmentarianism", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ab" * 40, "....!!!???,,,;;;", "--- *** ___ ===", "\u00bd \u2153 \u2154 \u00b2 \u00b3 \u2160 \u216b",
    "\ud835\udfd7 mathematical".encode("utf-16", "surrogatepass").decode("utf-16"),
    "end with newline\n", "\n\nstarts with newlines", " \t \n mixed whitespace \n\t ",
]

# (add_special, parse_special) for every case; a few cases are also run the other ways.
MODES = [(True, True)]
EXTRA = {"<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n": [(False, True), (True, False), (False, False)],
         "Hello world": [(False, True)], "": [(False, True)], "<bos>already has bos": [(True, False)]}


def tiny_vocab():
    """A small SPM vocab: <unk> <s> </s>, a control and a user-defined token, byte fallback
    for ASCII and the bytes of "▁" and "ü" (llama.cpp aborts on a byte with no token), and
    pieces with scores chosen so that score order and left-to-right order disagree."""
    toks = [("<unk>", 2, 0.0), ("<s>", 3, 0.0), ("</s>", 3, 0.0), ("<ctl>", 3, 0.0), ("<ud>", 4, 0.0)]
    toks += [("<0x%02X>" % b, 6, 0.0) for b in list(range(128)) + [0xE2, 0x96, 0x81, 0xC3, 0xBC]]
    toks += [
            ("\u2581", 1, -1.0), ("a", 1, -2.0), ("b", 1, -2.0), ("c", 1, -2.0), ("ab", 1, -3.0),
            ("bc", 1, -1.5), ("\u2581a", 1, -2.5), ("\u2581ab", 1, -4.0), ("abc", 1, -0.5),
            ("\u2581\u2581", 1, -5.0), ("é", 1, -3.0), ("aa", 1, -3.0), ("aaa", 1, -6.0)]
    return toks


TINY_CASES = ["", "a", " a", "ab", "abc", "bc", "aab", "aaaa", "aaaaa", "a b c", "  ab", "abab c",
              "A", "Ab\n", "é", "éa", "über", "xyz", "\u2581", "a<ctl>b", "a <ctl> b", "<ud>ab<ud>", "a<s>b", "  ", "cab", "bca"]


def write_tiny_gguf(path, add_space_prefix):
    import gguf
    w = gguf.GGUFWriter(path, "llama")
    w.add_block_count(1)
    w.add_context_length(16)
    w.add_embedding_length(8)
    w.add_feed_forward_length(8)
    w.add_head_count(1)
    w.add_tokenizer_model("llama")
    toks = tiny_vocab()
    w.add_token_list([t for t, _, _ in toks])
    w.add_token_types([ty for _, ty, _ in toks])
    w.add_token_scores([s for _, _, s in toks])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_space_prefix(add_space_prefix)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", help="Gemma 3 270M GGUF (skipped when absent)")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "spm"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    lib, ffi, how = load_llama_lib()
    ver = "llama-cpp-py-sync " + __import__("importlib.metadata").metadata.version("llama-cpp-py-sync")

    tiny = []
    for asp in (True, False):
        p = os.path.join(a.out, "tiny%s.gguf" % ("" if asp else "_noprefix"))
        write_tiny_gguf(p, asp)
        v = LlamaVocab(lib, ffi, p)
        for text in TINY_CASES:
            for add, parse in ((True, True), (False, False)):
                tiny.append({"gguf": os.path.basename(p), "text": text, "add_special": add, "parse_special": parse,
                             "ids": v.tokenize(text.encode(), add, parse)})
        v.close()
    json.dump({"generator": "tests/reference/gen_spm_fixtures.py", "llama_cpp": ver + " (" + how + ")",
               "cases": tiny}, open(os.path.join(a.out, "tiny_cases.json"), "w"), ensure_ascii=False, indent=0)

    if a.gguf:
        sha = hashlib.sha256(open(a.gguf, "rb").read()).hexdigest()
        v = LlamaVocab(lib, ffi, a.gguf)
        out = []
        for text in CASES:
            for add, parse in MODES + EXTRA.get(text, []):
                out.append({"text": text, "add_special": add, "parse_special": parse,
                            "ids": v.tokenize(text.encode(), add, parse)})
        v.close()
        json.dump({"generator": "tests/reference/gen_spm_fixtures.py", "llama_cpp": ver + " (" + how + ")",
                   "gguf": os.path.basename(a.gguf), "gguf_sha256": sha, "n_texts": len(CASES), "cases": out},
                  open(os.path.join(a.out, "gemma3_cases.json"), "w"), ensure_ascii=False, indent=0)
        print("gemma3: %d cases" % len(out))
    print("tiny: %d cases" % len(tiny))


if __name__ == "__main__":
    main()
