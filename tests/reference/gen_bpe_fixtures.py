#!/usr/bin/env python3
"""Golden fixtures for the byte-level BPE tokenizer (src/text/bpe.c).

Writes, under tests/fixtures/bpe/:
  smollm2_vocab.json  the tokenizer arrays of SmolLM2-135M-Instruct.Q4_1.gguf, read with the
                      `gguf` package: tokens, token types (one digit per token), merges, pre,
                      bos/eos ids and add_bos (null when the file has no add_bos_token).
  cases.json          prompts x pre-tokenizers with the ids llama.cpp gives for this GGUF: the
                      gold standard. The same vocab is re-tokenized with tokenizer.ggml.pre
                      overridden (llama.cpp kv_overrides) to cover llama3, gpt-2, qwen2 and
                      default. Each case also carries the ids of two HF cross-checks and whether
                      they agree with llama.cpp:
                        hf_pipeline  `tokenizers` built as the original HF tokenizer.json of that
                                     pre-tokenizer family (SmolLM2: Digits(individual) +
                                     ByteLevel; Llama 3 / Qwen2: Split(regex) + ByteLevel);
                        hf_gguf      transformers AutoTokenizer.from_pretrained(gguf_file=...)
                                     (smollm cases only: its GGUF converter ignores
                                     tokenizer.ggml.pre and always adds BOS).

llama.cpp comes from the PyPI wheel llama-cpp-py-sync (prebuilt libllama, CPU). Its wheel is
tagged manylinux2014 but links four glibc-2.38 C23 aliases (__isoc23_strtol, ...); on an older
glibc this script loads a patched copy (those symbol versions cleared, the GLIBC_2.38
requirement marked weak) with a 4-function shim compiled by `cc`. Nothing else is changed.

Usage (pinned versions in requirements-bpe.txt):
  python3 -m venv /tmp/bpe-venv && . /tmp/bpe-venv/bin/activate
  pip install -r tests/reference/requirements-bpe.txt
  python tests/reference/gen_bpe_fixtures.py [--gguf PATH] [--out tests/fixtures/bpe]
  python tests/reference/gen_bpe_fixtures.py --bench    # baselines for bench/results/tokenize.md
"""
import argparse
import ctypes
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GAZE_HOME = os.environ.get("GAZE_HOME", os.path.expanduser("~/.cache/gaze"))
DEFAULT_GGUF = os.path.join(GAZE_HOME, "models", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")

# ------------------------------------------------------------------------------------------
# prompts
# ------------------------------------------------------------------------------------------

LONG = (
    "The history of computing is a story of abstraction. Early machines were programmed by "
    "rewiring panels; later, stored programs let the same hardware run many tasks. Assembly "
    "languages gave names to instructions, and compilers turned readable code into machine "
    "words. In 1957 FORTRAN showed that a compiler could produce fast code, and by 1972 C had "
    "become the language of operating systems. Today, a model with 135 million parameters can "
    "run on a laptop: it reads a prompt, splits it into tokens, and predicts the next one. "
    "Tokenizers matter more than they seem. A byte-level BPE tokenizer never fails on unseen "
    "text, because every byte has a token; frequent sequences such as \" the\", \"ing\" or "
    "\"tion\" are merged into single tokens, while rare words (say, \"floccinaucinihilipilification\") "
    "fall apart into pieces. Numbers are a special case: SmolLM2 splits every digit, so 2024 "
    "becomes four tokens, while Llama 3 groups up to three digits at a time. Whitespace is "
    "another: runs of spaces in code are common, and a good vocabulary has tokens for them.\n\n"
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n"
    "Finally, chat models wrap each turn in control tokens, which must never be split. "
    "Gaze looks at attention over exactly these tokens, so getting them right is step one."
)

PROMPTS = [
    ("english", "The quick brown fox jumps over the lazy dog."),
    ("contractions", "I'm sure you'll see they've done it; it's what we'd do, isn't it? They're here. DON'T I'M WE'LL"),
    ("apostrophes", "’s ‘quoted’ 's 'S 'll 'LL ''s don''t rock'n'roll"),
    ("code_python", "def add(a, b):\n    \"\"\"Return a + b.\"\"\"\n    return a + b\n\nprint(add(2, 3))  # 5\n"),
    ("code_c", "int main(void) {\n\tfor (int i = 0; i < 10; ++i) {\n\t\tprintf(\"%d\\n\", i * i);\n\t}\n\treturn 0;\n}\n"),
    ("numbers", "In 2024, 1234567 people paid $3.14 each (≈ 10,000.50 EUR); call 555-0199 or +1 (800) 123."),
    ("number_forms", "3.14159265358979 1e-10 0x1F 007 ١٢٣٤ ²³ ½ Ⅻ 𝟗 ௧௨"),
    ("german", "Größenwahn ist übertrieben, aber Äpfel und Öl schmecken süß. Straße, Maß, Fußgänger."),
    ("french", "Café déjà vu. L'été à Paris — naïve façade, cœur et Œuvre."),
    ("chinese", "我们今天去公园散步，天气非常好。人工智能正在改变世界。"),
    ("japanese", "東京は日本の首都です。ひらがなとカタカナ、漢字を使います。ｶﾀｶﾅ"),
    ("arabic", "مرحبا بالعالم، كيف حالك اليوم؟ أنا بخير، شكرا."),
    ("cyrillic_greek_korean", "Привет, мир! Γειά σου Κόσμε! 안녕하세요, 세계!"),
    ("emoji", "I love 🍕 and 🎉🎉! 👨‍👩‍👧‍👦 family, flags 🇫🇷🇩🇪, skin 👍🏽, text ☺︎ vs emoji ☺️."),
    ("repeated_words", "the the the the the the the the buffalo buffalo Buffalo buffalo buffalo"),
    ("repeated_chars", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ________________ ................ !!!!!!!! 0000000000"),
    ("whitespace", "  leading spaces\n\n\n\ttabs\t\tand   multiple    spaces   \r\n trailing  "),
    ("newlines_only", "\n\n\n"),
    ("spaces_only", "     "),
    ("single_char", "a"),
    ("empty", ""),
    ("unicode_spaces", "a\u00a0b\u2003c\u3000d\u0085e\u200bf\u2028g \u00a0 h"),
    ("control_chars", "\x00\x01\x1b[31mred\x1b[0m\x7f\x1c\x1f end"),
    ("punctuation", "Wait... what?!?! (really) [yes] {no} <tag attr=\"v\"/> -- ~~~ ___ *** ### @@ $$ %% ^^ && || ``"),
    ("url_email", "Visit https://example.com/path?q=1&r=2#frag or mail me@example.org, ok?"),
    ("json_markdown", "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}\n# Title\n- item one\n- item **two**\n"),
    ("mixed_digits", "abc123def456 ١٢٣abc x2y3 v1.2.3-rc4"),
    ("combining", "e\u0301 n\u0303 क्षत्रिय ภาษาไทย Zalgo: Z\u0351\u0354a\u0352l\u0353g\u0350o"),
    ("long_word", "Pneumonoultramicroscopicsilicovolcanoconiosis supercalifragilisticexpialidocious"),
    ("chat", "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
             "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"),
    ("specials_adjacent", "<|im_start|><|im_end|><|endoftext|>x<|im_start|<<|im_end|>>< |im_end|>"),
    ("specials_misc", "<repo_name>gaze<file_sep>src/text/bpe.c<jupyter_code>print(1)<empty_output>"),
    ("regex_edges", "x\u0085\u0085y a\u0085 b \u3000\u3000z\t\t!x \r\n\r\nw\n \nv  \n '\n$hello #world .word 'S'T'Re'VE word's Word'S"),
    ("regex_digits", "1234567890 12345 x٣٤٥y ¹²³⁴ ①②③ 1,000,000 3.5e+10"),
    # bytes SmolLM2 has no token for (0x04, 0x13, 0x1D; 0xF1 leads U+40000): both references drop them
    ("missing_bytes", "a\x04b \x13\x13 c\x1d\x1dd \U00040000 e\U00040001f"),
    ("long_300", LONG),
]

# invalid UTF-8: llama.cpp replaces each bad byte (and passes surrogates through); gaze, like HF,
# replaces each maximal ill-formed subpart, so the expected ids are llama.cpp's on the text that
# Python's decode(errors="replace") gives.
INVALID = [
    ("invalid_ff", b"ab\xffcd\xc3"),
    ("invalid_truncated", b"x\xe2\x82y \xf0\x9f\x98"),
    ("invalid_surrogate_overlong", b"x\xed\xa0\x80y\xc0\x80z"),
]

PRES = ["smollm", "llama3", "gpt-2", "qwen2", "default"]

# original HF pre-tokenizer regexes (tokenizer.json), for the hf_pipeline cross-check
HF_LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
HF_QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

# ------------------------------------------------------------------------------------------
# llama.cpp through llama-cpp-py-sync
# ------------------------------------------------------------------------------------------

SHIM_C = r"""
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
long __isoc23_strtol(const char *s, char **e, int b) { return strtol(s, e, b); }
unsigned long __isoc23_strtoul(const char *s, char **e, int b) { return strtoul(s, e, b); }
unsigned long long __isoc23_strtoull(const char *s, char **e, int b) { return strtoull(s, e, b); }
int __isoc23_sscanf(const char *s, const char *f, ...) { va_list ap; va_start(ap, f); int r = vsscanf(s, f, ap); va_end(ap); return r; }
"""
C23_SYMS = (b"__isoc23_sscanf", b"__isoc23_strtol", b"__isoc23_strtoul", b"__isoc23_strtoull")


def elf_relax_glibc238(path):
    """Marks the GLIBC_2.38 version need weak and unversions the C23 aliases (ELF64 LE)."""
    d = bytearray(open(path, "rb").read())
    if d[:4] != b"\x7fELF" or d[4] != 2:
        return
    shoff, = struct.unpack_from("<Q", d, 0x28)
    shentsize, shnum, _ = struct.unpack_from("<HHH", d, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]

    def cstr(off):
        return bytes(d[off:d.index(b"\0", off)])

    for _, typ, _, _, off, size, link, info, _, _ in secs:
        if typ == 0x6FFFFFFE:  # SHT_GNU_verneed
            strtab = secs[link][4]
            for _ in range(info):
                _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", d, off)
                a = off + aux
                for _ in range(cnt):
                    _, fl, _, nm, anext = struct.unpack_from("<IHHII", d, a)
                    if cstr(strtab + nm) == b"GLIBC_2.38":
                        struct.pack_into("<H", d, a + 4, fl | 2)  # VER_FLG_WEAK
                    a += anext
                off += nxt
    dynsym = next(s for s in secs if s[1] == 11)
    versym = next(s for s in secs if s[1] == 0x6FFFFFFF)
    dstr = secs[dynsym[6]][4]
    for i in range(dynsym[5] // 24):
        nm, = struct.unpack_from("<I", d, dynsym[4] + 24 * i)
        if cstr(dstr + nm) in C23_SYMS:
            struct.pack_into("<H", d, versym[4] + 2 * i, 1)  # VER_NDX_GLOBAL
    open(path, "wb").write(d)


def load_llama_lib():
    import llama_cpp_py_sync
    from llama_cpp_py_sync import _cffi_bindings as cb
    try:
        return cb.get_lib(), cb.ffi, "as shipped"
    except RuntimeError as e:
        if "GLIBC_2.38" not in str(e):
            raise
    tmp = tempfile.mkdtemp(prefix="llama-cpp-py-sync-")
    pkg = os.path.dirname(llama_cpp_py_sync.__file__)
    for f in os.listdir(pkg):
        if ".so" in f:
            shutil.copy(os.path.join(pkg, f), tmp)
            elf_relax_glibc238(os.path.join(tmp, f))
    with open(os.path.join(tmp, "shim.c"), "w") as fh:
        fh.write(SHIM_C)
    shim = os.path.join(tmp, "libisoc23shim.so")
    subprocess.check_call(["cc", "-shared", "-fPIC", "-O2", "-o", shim, os.path.join(tmp, "shim.c")])
    ctypes.CDLL(shim, mode=ctypes.RTLD_GLOBAL)
    lib = cb.ffi.dlopen(os.path.join(tmp, "libllama.so"))
    shutil.rmtree(tmp)  # loaded libraries stay mapped
    return lib, cb.ffi, "patched for glibc < 2.38"


class LlamaVocab:
    def __init__(self, lib, ffi, gguf, pre=None, add_bos=None):
        self.lib, self.ffi = lib, ffi
        p = lib.llama_model_default_params()
        p.vocab_only = True
        self.ov = ffi.new("struct llama_model_kv_override[3]")
        k = 0
        if pre is not None:
            self.ov[k].tag = 3  # LLAMA_KV_OVERRIDE_TYPE_STR
            self.ov[k].key = b"tokenizer.ggml.pre"
            self.ov[k].val_str = pre.encode()
            k += 1
        if add_bos is not None:
            self.ov[k].tag = 2  # LLAMA_KV_OVERRIDE_TYPE_BOOL
            self.ov[k].key = b"tokenizer.ggml.add_bos_token"
            self.ov[k].val_bool = add_bos
            k += 1
        if k:
            p.kv_overrides = self.ov
        self.model = lib.llama_model_load_from_file(gguf.encode(), p)
        if self.model == ffi.NULL:
            raise RuntimeError(f"llama.cpp could not load {gguf} (pre={pre})")
        self.vocab = lib.llama_model_get_vocab(self.model)

    def tokenize(self, data, add_special, parse_special):
        cap = len(data) + 16
        buf = self.ffi.new("llama_token[]", cap)
        n = self.lib.llama_tokenize(self.vocab, data, len(data), buf, cap, add_special, parse_special)
        if n < 0:
            raise RuntimeError("llama_tokenize: buffer too small")
        return [buf[i] for i in range(n)]

    def close(self):
        self.lib.llama_model_free(self.model)

# ------------------------------------------------------------------------------------------
# HF cross-checks
# ------------------------------------------------------------------------------------------


def hf_pipeline(tokens, merges, types, pre):
    """`tokenizers` pipeline of the original tokenizer.json for this pre-tokenizer family."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers
    if pre == "default":
        return None  # llama.cpp's own fallback; no HF tokenizer has it
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, ignore_merges=(pre == "llama3")))
    if pre == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    elif pre == "gpt-2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(HF_LLAMA3 if pre == "llama3" else HF_QWEN2), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types) if ty in (2, 3)])
    tok.add_tokens([AddedToken(t, special=False, normalized=False)
                    for t, ty in zip(tokens, types) if ty == 4])
    return tok


def hf_pieces(tok, text):
    """Pre-token byte ranges [start, end) from the HF pre-tokenizer (char offsets -> bytes)."""
    cut = [0]
    for ch in text:
        cut.append(cut[-1] + len(ch.encode("utf-8")))
    return [[cut[b], cut[e]] for _, (b, e) in tok.pre_tokenizer.pre_tokenize_str(text)]


def hf_gguf(gguf):
    """transformers' own GGUF tokenizer loader (its torch check is only for weights)."""
    import transformers.modeling_gguf_pytorch_utils as g
    g.is_torch_available = lambda: True
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf))

# ------------------------------------------------------------------------------------------


def dump_vocab(gguf, out):
    from gguf import GGUFReader
    r = GGUFReader(gguf)
    f = r.fields

    def get(k, default=None):
        return f[k].contents() if k in f else default

    tokens = get("tokenizer.ggml.tokens")
    types = get("tokenizer.ggml.token_type")
    merges = get("tokenizer.ggml.merges")
    assert get("tokenizer.ggml.model") == "gpt2", "not a byte-level BPE vocab"
    assert all(0 <= t <= 9 for t in types)
    doc = {
        "source": os.path.basename(gguf),
        "model": get("tokenizer.ggml.model"),
        "pre": get("tokenizer.ggml.pre"),
        "bos_id": get("tokenizer.ggml.bos_token_id", -1),
        "eos_id": get("tokenizer.ggml.eos_token_id", -1),
        "add_bos": get("tokenizer.ggml.add_bos_token"),
        "token_types": "".join(str(t) for t in types),
        "tokens": tokens,
        "merges": merges,
    }
    path = os.path.join(out, "smollm2_vocab.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))
    print(f"{path}: {os.path.getsize(path)} bytes, {len(tokens)} tokens, {len(merges)} merges")
    return tokens, types, merges


M64 = 0xFFFFFFFFFFFFFFFF
BENCH_WORDS = ["the", "model", "reads", "a", "prompt", "and", "splits", "it", "into", "tokens,", "then",
               "predicts", "next", "one.", "Attention", "weights", "show", "which"]


def bench_input(kind, n):
    """The inputs of bench/tokenize.c, byte for byte (same xorshift64 generator)."""
    state = [88172645463325252]

    def r32():
        x = state[0]
        x ^= (x << 13) & M64
        x ^= x >> 7
        x ^= (x << 17) & M64
        state[0] = x
        return x & 0xFFFFFFFF
    if kind == "cjk_random":
        return "".join(chr(0x4E00 + r32() % (0x9FFF - 0x4E00 + 1)) for _ in range(n))
    if kind == "english":
        out = []
        size = 0
        while True:
            w = BENCH_WORDS[r32() % len(BENCH_WORDS)]
            if size + len(w) + 1 > n:
                break
            size += len(w) + (1 if out else 0)
            out.append(w)
        text = " ".join(out)
        return text + "." * (n - len(text))
    return {"a": "a", "underscore": "_", "space": " ", "newline": "\n", "digit": "7"}[kind] * n


def bench(gguf):
    """llama.cpp and HF on bench/tokenize.c's inputs: wall and CPU ms, and the ids hash."""
    import time
    lib, ffi, how = load_llama_lib()
    lib.llama_backend_init()
    ll = LlamaVocab(lib, ffi, gguf)
    from gguf import GGUFReader
    f = GGUFReader(gguf).fields
    hf = hf_pipeline(f["tokenizer.ggml.tokens"].contents(), f["tokenizer.ggml.merges"].contents(),
                     f["tokenizer.ggml.token_type"].contents(), "smollm")
    print("%-11s %9s %14s %14s %12s %12s  %-16s %s" % ("input", "chars", "llama.cpp wall", "llama.cpp cpu",
                                                       "HF wall", "HF cpu", "ids hash", "HF ids"))
    for kind in ["a", "underscore", "cjk_random", "space", "newline", "digit", "english"]:
        for n in [10**4, 10**5, 10**6]:
            s = bench_input(kind, n)
            c0, t0 = time.process_time(), time.perf_counter()
            a = ll.tokenize(s.encode("utf-8"), True, True)
            c1, t1 = time.process_time(), time.perf_counter()
            h = hf.encode(s, add_special_tokens=False).ids
            c2, t2 = time.process_time(), time.perf_counter()
            fh = 0xCBF29CE484222325
            for x in a:
                fh = ((fh ^ x) * 0x100000001B3) & M64
            print("%-11s %9d %14.1f %14.1f %12.1f %12.1f  %016x %s" % (
                kind, n, (t1 - t0) * 1e3, (c1 - c0) * 1e3, (t2 - t1) * 1e3, (c2 - c1) * 1e3, fh,
                "same" if h == a else "DIFFERENT"), flush=True)
    ll.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "bpe"))
    ap.add_argument("--bench", action="store_true",
                    help="instead of fixtures, time llama.cpp and HF on bench/tokenize.c's inputs")
    args = ap.parse_args()
    if args.bench:
        return bench(args.gguf)
    os.makedirs(args.out, exist_ok=True)

    tokens, types, merges = dump_vocab(args.gguf, args.out)
    lib, ffi, how = load_llama_lib()
    lib.llama_backend_init()
    import importlib.metadata as md
    versions = {p: md.version(p) for p in ("llama-cpp-py-sync", "transformers", "tokenizers", "gguf")}
    from llama_cpp_py_sync import __llama_cpp_tag__
    versions["llama.cpp"] = __llama_cpp_tag__

    hf_g = hf_gguf(args.gguf)
    inputs = [(n, t.encode("utf-8"), None) for n, t in PROMPTS]
    inputs += [(n, b, b.decode("utf-8", "replace").encode("utf-8")) for n, b in INVALID]

    cases, disagree = [], []
    for pre in PRES:
        ll = LlamaVocab(lib, ffi, args.gguf, pre=None if pre == "smollm" else pre)
        hp = hf_pipeline(tokens, merges, types, pre)
        for name, raw, repaired in inputs:
            for parse_special in ([True, False] if name.startswith(("chat", "specials")) else [True]):
                text = repaired if repaired is not None else raw
                ids = ll.tokenize(text, True, parse_special)
                case = {"name": name, "pre": pre, "parse_special": parse_special}
                if repaired is None:
                    case["text"] = raw.decode("utf-8")
                else:
                    case["text_hex"] = raw.hex()
                    case["llama_raw_ids"] = ll.tokenize(raw, True, parse_special)
                case["ids"] = ids
                if hp is not None:
                    hp.encode_special_tokens = not parse_special
                    h = hp.encode(text.decode("utf-8"), add_special_tokens=False).ids
                    case["hf_pipeline_agrees"] = h == ids
                    if h != ids:
                        case["hf_pipeline_ids"] = h
                        disagree.append(f"{pre}/{name}/parse_special={parse_special}: hf_pipeline")
                    if repaired is None and not name.startswith(("chat", "specials")):
                        case["hf_pieces"] = hf_pieces(hp, raw.decode("utf-8"))
                if pre == "smollm":
                    h = hf_g(text.decode("utf-8"), add_special_tokens=False,
                             split_special_tokens=not parse_special)["input_ids"]
                    case["hf_gguf_agrees"] = h == ids
                    if h != ids:
                        case["hf_gguf_ids"] = h
                        disagree.append(f"{pre}/{name}/parse_special={parse_special}: hf_gguf")
                cases.append(case)
        ll.close()

    # BOS: llama.cpp with add_bos_token forced on (the GGUF says false)
    ll = LlamaVocab(lib, ffi, args.gguf, add_bos=True)
    prompt = dict(PROMPTS)
    for name, text in (("bos_english", prompt["english"]), ("bos_chat", prompt["chat"]), ("bos_empty", "")):
        cases.append({"name": name, "pre": "smollm", "parse_special": True, "add_bos": True,
                      "text": text, "ids": ll.tokenize(text.encode("utf-8"), True, True)})
    ll.close()

    long_ids = next(c["ids"] for c in cases if c["name"] == "long_300" and c["pre"] == "smollm")
    assert len(long_ids) >= 300, len(long_ids)
    doc = {
        "generator": "tests/reference/gen_bpe_fixtures.py",
        "reference": f"llama.cpp {versions['llama.cpp']} via llama-cpp-py-sync ({how}), vocab_only, "
                     "llama_tokenize(add_special=true, parse_special as given)",
        "versions": versions,
        "gguf": os.path.basename(args.gguf),
        "hf_disagreements": disagree,
        "cases": cases,
    }
    path = os.path.join(args.out, "cases.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=0)
    print(f"{path}: {os.path.getsize(path)} bytes, {len(cases)} cases "
          f"(long prompt: {len(long_ids)} tokens)")
    print(f"HF disagreements ({len(disagree)}):")
    for d in disagree:
        print("  " + d)


if __name__ == "__main__":
    sys.exit(main())
