#!/usr/bin/env python3
"""Writes the crafted seed files of the fuzz corpora (tests/fuzz/corpus/<target>/s-*).

Deterministic, standard library only; reads the committed SmolLM2 vocabulary fixture and,
when present, the MiniLM folder ($GAZE_HOME/models/minilm) for small real-derived files.
Run from the repository root:  python3 tests/fuzz/make_seeds.py
The safetensors and run-file corpora also hold the malformed files the unit tests write
(GAZE_ST_CORPUS=DIR build/tests/test_safetensors, GAZE_RUN_CORPUS=DIR build/tests/test_runfile).
Seeds stay small (no model weights): GGUF seeds are synthetic, with at most ~700 tokens.
"""
import json
import os
import random
import struct
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
HOME = os.environ.get("GAZE_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "gaze")
MINILM = os.path.join(HOME, "models", "minilm")
rng = random.Random(20240607)


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    with open(os.path.join(d, "s-" + name), "wb") as f:
        f.write(data)


# ---- GGUF writer ---------------------------------------------------------------------------
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
              BOOL: "<B", U64: "<Q", I64: "<q", F64: "<d"}
# ggml type id -> (block elements, block bytes, offsets of f16 scales in a block)
QT = {0: (1, 4, ()), 1: (1, 2, ()), 2: (32, 18, (0,)), 3: (32, 20, (0, 2)), 6: (32, 22, (0,)),
      7: (32, 24, (0, 2)), 8: (32, 34, (0,)), 9: (32, 36, (0, 2)), 12: (256, 144, (0, 2)),
      14: (256, 210, (208,)), 15: (256, 292, ()), 30: (1, 2, ())}


def gstr(s):
    b = s if isinstance(s, bytes) else s.encode()
    return struct.pack("<Q", len(b)) + b


def gval(t, v):
    if t == STR:
        return gstr(v)
    if t == ARR:
        et, items = v
        out = struct.pack("<IQ", et, len(items))
        return out + b"".join(gval(et, x) for x in items)
    return struct.pack(SCALAR_FMT[t], v)


def block_bytes(tid, n_el):
    """Plausible data: random quants, scales = 1.0 (f16 0x3C00), floats small and finite."""
    bl, bs, scales = QT[tid]
    nb = n_el // bl
    if tid == 0:
        return b"".join(struct.pack("<f", rng.uniform(-0.5, 0.5)) for _ in range(n_el))
    if tid in (1, 30):
        return b"".join(struct.pack("<H", 0x3C00 if tid == 1 else 0x3F80) for _ in range(n_el))
    out = bytearray()
    for _ in range(nb):
        blk = bytearray(rng.getrandbits(8) for _ in range(bs))
        for o in scales:
            blk[o:o + 2] = struct.pack("<H", 0x2C00)   # 1/16
        if tid == 15:
            blk[0:4] = struct.pack("<f", 0.01)
        out += blk
    return bytes(out)


def gguf(kvs, tensors, version=3, align=32):
    """kvs: [(key, type, value)]; tensors: [(name, type id, ne list, data bytes or None)]."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)))
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", t) + gval(t, v)
    datas, off = [], 0
    for name, tid, ne, data in tensors:
        n_el = 1
        for x in ne:
            n_el *= x
        if data is None:
            data = block_bytes(tid, n_el)
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", x) for x in ne)
        out += struct.pack("<IQ", tid, off)
        datas.append(data)
        off += (len(data) + align - 1) // align * align
    while len(out) % align:
        out += b"\0"
    for i, d in enumerate(datas):
        out += d
        if i + 1 < len(datas):
            while len(d) % align:
                d += b"\0"
                out += b"\0"
    return bytes(out)


# ---- tokenizers ------------------------------------------------------------------------------
def byte_chars():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def synth_vocab():
    """~280 tokens: 3 control, 256 GPT-2 byte characters, a byte token, a user-defined token,
    and merges for a few English words."""
    bc = byte_chars()
    toks = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    types = [3, 3, 3]
    for b in range(256):
        toks.append(bc[b])
        types.append(1)
    toks.append("<0x0A>"); types.append(6)
    toks.append("<tool>"); types.append(4)
    merges = []
    for a, b in [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("a", "t"), ("Ġ", "c"),
                 ("Ġc", "at"), ("e", "r"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("l", "d"), ("Ġwor", "ld"),
                 ("H", "e"), ("l", "l"), ("He", "ll"), ("Hell", "o"), ("Ġ", "Ġ"), ("1", "2")]:
        merges.append(a + " " + b)
        if a + b not in toks:
            toks.append(a + b)
            types.append(1)
    return toks, types, merges


def smollm2_reduced(k=700):
    with open(os.path.join(ROOT, "tests", "fixtures", "bpe", "smollm2_vocab.json")) as f:
        d = json.load(f)
    toks = d["tokens"][:k]
    have = set(toks)
    types = [int(c) for c in d["token_types"][:k]]
    merges = []
    for m in d["merges"]:
        a, _, b = m.partition(" ")
        if a in have and b in have and a + b in have:
            merges.append(m)
    return toks, types, merges, d


def tok_kvs(toks, types, merges, pre="smollm", bos=1, eos=2, add_bos=False):
    kv = [("tokenizer.ggml.model", STR, "gpt2"), ("tokenizer.ggml.pre", STR, pre),
          ("tokenizer.ggml.tokens", ARR, (STR, toks)), ("tokenizer.ggml.token_type", ARR, (I32, types)),
          ("tokenizer.ggml.merges", ARR, (STR, merges))]
    if bos is not None:
        kv.append(("tokenizer.ggml.bos_token_id", U32, bos))
    if eos is not None:
        kv.append(("tokenizer.ggml.eos_token_id", U32, eos))
    if add_bos is not None:
        kv.append(("tokenizer.ggml.add_bos_token", BOOL, 1 if add_bos else 0))
    return kv


def llama(C=8, H=2, Hkv=1, F=16, L=1, n_ctx=32, wtype=0, tied=True, pre="smollm", extra_kv=()):
    toks, types, merges = synth_vocab()
    V = len(toks)
    kv = [("general.architecture", STR, "llama"), ("general.name", STR, "tiny"),
          ("llama.embedding_length", U32, C), ("llama.block_count", U32, L),
          ("llama.attention.head_count", U32, H), ("llama.attention.head_count_kv", U32, Hkv),
          ("llama.feed_forward_length", U32, F), ("llama.context_length", U32, n_ctx),
          ("llama.attention.layer_norm_rms_epsilon", F32, 1e-5), ("llama.rope.freq_base", F32, 10000.0),
          ("llama.rope.dimension_count", U32, C // H)] + list(extra_kv)
    kv += tok_kvs(toks, types, merges, pre=pre, bos=0, eos=0, add_bos=True)
    d = C // H
    ts = [("token_embd.weight", wtype, [C, V], None), ("output_norm.weight", 0, [C], None)]
    if not tied:
        ts.append(("output.weight", wtype, [C, V], None))
    for l in range(L):
        b = "blk.%d." % l
        ts += [(b + "attn_norm.weight", 0, [C], None), (b + "ffn_norm.weight", 0, [C], None),
               (b + "attn_q.weight", wtype, [C, H * d], None), (b + "attn_k.weight", wtype, [C, Hkv * d], None),
               (b + "attn_v.weight", wtype, [C, Hkv * d], None), (b + "attn_output.weight", wtype, [H * d, C], None),
               (b + "ffn_gate.weight", wtype, [C, F], None), (b + "ffn_up.weight", wtype, [C, F], None),
               (b + "ffn_down.weight", wtype, [F, C], None)]
    return gguf(kv, ts)


def gguf_seeds():
    all_types = [("t.u8", U8, 200), ("t.i8", I8, -7), ("t.u16", U16, 60000), ("t.i16", I16, -300),
                 ("t.u32", U32, 4000000000), ("t.i32", I32, -123456), ("t.f32", F32, 1e-5), ("t.bool", BOOL, 1),
                 ("t.u64", U64, 1 << 40), ("t.i64", I64, -5), ("t.f64", F64, 1e5), ("t.str", STR, "llama"),
                 ("t.strs", ARR, (STR, ["a", "bc", b"d\0e"])), ("t.ints", ARR, (I32, [1, -2, 3, 2147483647])),
                 ("t.bools", ARR, (BOOL, [0, 1, 1])), ("t.f32s", ARR, (F32, [0.5, -1.0])),
                 ("t.u8s", ARR, (U8, [1, 2, 255])), ("t.i64s", ARR, (I64, [-1, 1 << 40])),
                 ("t.empty", ARR, (U32, []))]
    tensors = [("f32", 0, [8, 2], None), ("f16", 1, [16], None), ("bf16", 30, [16], None),
               ("q4_0", 2, [32, 2], None), ("q4_1", 3, [32], None), ("q5_0", 6, [32], None),
               ("q5_1", 7, [32], None), ("q8_0", 8, [64], None), ("q8_1", 9, [32], None),
               ("q4_k", 12, [256], None), ("q6_k", 14, [256], None), ("q8_k", 15, [256], None)]
    put("fuzz_gguf", "all-types.gguf", gguf([("general.architecture", STR, "llama")] + all_types, tensors))
    put("fuzz_gguf", "v2.gguf", gguf([("general.architecture", STR, "llama"), ("x", U32, 1)],
                                     [("a", 0, [4, 2], None)], version=2))
    put("fuzz_gguf", "align64.gguf", gguf([("general.alignment", U32, 64)],
                                          [("a", 0, [4], None), ("b", 8, [32], None), ("c", 0, [3], None)], align=64))
    put("fuzz_gguf", "align1.gguf", gguf([("general.alignment", U32, 1)],
                                         [("a", 1, [3], None), ("b", 0, [1], None)], align=1))
    put("fuzz_gguf", "no-tensors.gguf", gguf([("general.architecture", STR, "llama")], []))
    put("fuzz_gguf", "empty.gguf", gguf([], []))
    put("fuzz_gguf", "dims.gguf", gguf([], [("d4", 0, [2, 1, 2, 2], None), ("d3", 1, [2, 2, 2], None),
                                            ("zero", 0, [0, 4], b""), ("one", 0, [1], None)]))
    put("fuzz_gguf", "tiny-llama.gguf", llama())
    toks, types, merges = synth_vocab()
    put("fuzz_gguf", "tokenizer.gguf", gguf(tok_kvs(toks, types, merges), []))
    put("fuzz_gguf", "truncated.gguf", llama()[:300])
    # one field wrong each (the classes of reliability.md §2, rows 7-13)
    ok_kv = [("general.architecture", STR, "llama"), ("general.alignment", U32, 32)]
    ok_t = [("a", 0, [4, 2], None), ("b", 8, [32], None)]
    bad = {
        "n-tensors-huge.gguf": b"GGUF" + struct.pack("<IQQ", 3, 1 << 40, 0),
        "n-kv-negative.gguf": b"GGUF" + struct.pack("<IQQ", 3, 0, (1 << 64) - 1),
        "version-1.gguf": b"GGUF" + struct.pack("<III", 1, 0, 0),
        "string-len-huge.gguf": b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("k") + struct.pack("<IQ", STR, 1 << 40),
        "array-of-array.gguf": gguf([("k", ARR, (ARR, []))], []),
        "array-count-overflow.gguf": b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("k") + struct.pack("<IIQ", ARR, I64, 1 << 61),
        "align-zero.gguf": gguf([("general.alignment", U32, 0)], []),
        "align-npot.gguf": gguf([("general.alignment", U32, 48)], ok_t),
        "align-type.gguf": gguf([("general.alignment", I32, 32)], ok_t),
        "dup-key.gguf": gguf(ok_kv + [("general.alignment", U32, 32)], ok_t),
        "dup-tensor.gguf": gguf(ok_kv, ok_t + [("a", 0, [4], None)]),
        "ndims-5.gguf": gguf(ok_kv, [("a", 0, [1, 1, 1, 1, 2], b"\0" * 8)]),
        "ne-overflow.gguf": gguf(ok_kv, [("a", 0, [1 << 32, 1 << 32], b"")]),
        "type-unknown.gguf": gguf(ok_kv, [("a", 4, [32], b"\0" * 18)]),
        "block-misfit.gguf": gguf(ok_kv, [("a", 8, [48], b"\0" * 34)]),
    }
    for k, v in bad.items():
        put("fuzz_gguf", k, v)

    # tokenizer metadata only
    put("fuzz_bpe_vocab", "synth-smollm.gguf", gguf(tok_kvs(toks, types, merges), []))
    for pre in ("llama3", "gpt-2", "qwen2", "default"):
        put("fuzz_bpe_vocab", "synth-%s.gguf" % pre,
            gguf(tok_kvs(toks, types, merges, pre=pre, bos=0, eos=2, add_bos=pre == "llama3"), []))
    put("fuzz_bpe_vocab", "synth-no-types.gguf",
        gguf([kv for kv in tok_kvs(toks, types, merges, bos=None, eos=None, add_bos=None)
              if kv[0] != "tokenizer.ggml.token_type"], []))
    put("fuzz_bpe_vocab", "synth-no-merges.gguf", gguf(tok_kvs(toks, types, []), []))
    rt, rty, rm, d = smollm2_reduced()
    put("fuzz_bpe_vocab", "smollm2-700.gguf",
        gguf([("general.architecture", STR, "llama")] + tok_kvs(rt, rty, rm, pre=d["pre"], bos=d["bos_id"],
                                                                eos=d["eos_id"], add_bos=d["add_bos"]), []))
    put("fuzz_bpe_vocab", "bad-merge.gguf", gguf(tok_kvs(toks, types, merges + ["q zz"]), []))
    put("fuzz_bpe_vocab", "dup-token.gguf", gguf(tok_kvs(toks + ["he"], types + [1], merges), []))
    bad = [("<0xZZ>" if t == "<0x0A>" else t) for t in toks]
    put("fuzz_bpe_vocab", "bad-byte.gguf", gguf(tok_kvs(bad, types, merges), []))

    # complete tiny models
    put("fuzz_llama_gguf", "f32.gguf", llama())
    put("fuzz_llama_gguf", "f32-untied-2layers.gguf", llama(L=2, tied=False, Hkv=2))
    put("fuzz_llama_gguf", "q8_0.gguf", llama(C=32, H=4, Hkv=2, F=32, wtype=8))
    put("fuzz_llama_gguf", "q4_1.gguf", llama(C=32, H=2, Hkv=1, F=32, wtype=3))
    put("fuzz_llama_gguf", "f16-llama3.gguf", llama(wtype=1, pre="llama3"))
    put("fuzz_llama_gguf", "ctx4.gguf", llama(n_ctx=4))


# ---- JSON, configs, tokenizer files ----------------------------------------------------------
def json_seeds():
    s = {
        "object.json": '{"a": 1, "b": [1, 2.5, -3e10], "c": {"d": null, "e": true, "f": "str"}}',
        "escapes.json": '{"u": "\\u00e9\\ud83d\\ude00\\u0000x", "n": "\\n\\t\\"\\\\\\/"}',
        "lone-surrogate.json": '{"s": "\\ud800"}',
        "dup.json": '{"a": 1, "a": 2}',
        "deep63.json": "[" * 63 + "]" * 63,
        "deep65.json": '{"a":' + "[" * 64 + "]" * 64 + "}",
        "numbers.json": '[0, -0, 1e308, 1e309, -9223372036854775808, 9223372036854775807, 9223372036854775808, 1.5e-320]',
        "strings-brackets.json": '{"s": "[[[{{{\\"]]]"}',
        "scalar.json": '"just a string"',
        "nul-raw.json": '{"a": "x\0y"}',
        "bom.json": "\ufeff{}",
        "trailing.json": '{"a": 1} x',
        "utf8.json": '{"\u00e9": "\u4e2d\u6587", "k": "\U0001F600"}',
        "control.json": '{"a": "\x1b[31m"}',
    }
    for k, v in s.items():
        put("fuzz_json", k, v)
    put("fuzz_json", "invalid-utf8.json", b'{"a": "\xff\xfe"}')
    cfg_path = os.path.join(MINILM, "config.json")
    if os.path.exists(cfg_path):
        with open(cfg_path, "rb") as f:
            put("fuzz_json", "minilm-config.json", f.read())


def config_seeds():
    base = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 4, "num_attention_heads": 2,
            "num_hidden_layers": 1, "intermediate_size": 8, "vocab_size": 32, "max_position_embeddings": 16,
            "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
            "position_embedding_type": "absolute", "hidden_dropout_prob": 0.1, "torch_dtype": "float32"}
    put("fuzz_config", "ok.json", json.dumps(base, indent=2))
    variants = {
        "defaults.json": {k: v for k, v in base.items() if k not in ("max_position_embeddings", "type_vocab_size",
                                                                     "layer_norm_eps", "hidden_act",
                                                                     "position_embedding_type")},
        "gelu-new.json": dict(base, hidden_act="gelu_new"),
        "relative.json": dict(base, position_embedding_type="relative_key"),
        "eps-tiny.json": dict(base, layer_norm_eps=1e-300),
        "eps-zero.json": dict(base, layer_norm_eps=0),
        "heads3.json": dict(base, num_attention_heads=3),
        "hidden-str.json": dict(base, hidden_size="4"),
        "roberta.json": dict(base, model_type="roberta"),
        "pos8.json": dict(base, max_position_embeddings=8),
        "huge.json": dict(base, hidden_size=1 << 40, vocab_size=-1),
        "types1.json": dict(base, type_vocab_size=1),
        "roberta-pad.json": dict(base, model_type="roberta", pad_token_id=14),
        "electra.json": dict(base, model_type="electra", embedding_size=4),
        "electra-proj.json": dict(base, model_type="electra", embedding_size=2),
        "distilbert.json": {"model_type": "distilbert", "dim": 4, "n_heads": 2, "n_layers": 1, "hidden_dim": 8,
                            "vocab_size": 32, "max_position_embeddings": 16, "activation": "gelu"},
    }
    for k, v in variants.items():
        put("fuzz_config", k, json.dumps(v))
    put("fuzz_config", "not-object.json", "[1, 2]")
    put("fuzz_config", "empty.json", "")


def tokenizer_seeds():
    tj = os.path.join(MINILM, "tokenizer.json")
    vt = os.path.join(MINILM, "vocab.txt")
    if not (os.path.exists(tj) and os.path.exists(vt)):
        sys.exit("make_seeds: MiniLM not found under %s (scripts/fetch-test-models)" % MINILM)
    with open(tj, encoding="utf-8") as f:
        doc = json.load(f)
    with open(vt, encoding="utf-8") as f:
        vocab = f.read().split("\n")
    # keep specials, a slice of common words and pieces; renumber densely
    keep = vocab[:110] + vocab[1996:2200] + [w for w in vocab if w.startswith("##")][:60]
    seen, words = set(), []
    for w in keep:
        if w and w not in seen:
            seen.add(w)
            words.append(w)
    small = dict(doc)
    small["model"] = dict(doc["model"], vocab={w: i for i, w in enumerate(words)})
    idx = {w: i for i, w in enumerate(words)}
    small["added_tokens"] = [dict(t, id=idx[t["content"]]) for t in doc.get("added_tokens", []) if t["content"] in idx]
    pp = json.loads(json.dumps(doc.get("post_processor")))
    if pp and pp.get("special_tokens"):
        for name, st in pp["special_tokens"].items():
            st["ids"] = [idx.get(t, 0) for t in st.get("tokens", [])]
    small["post_processor"] = pp
    put("fuzz_tokenizer_json", "minilm-small.json", json.dumps(small, ensure_ascii=False))
    v = json.loads(json.dumps(small))
    v["post_processor"] = {"type": "BertProcessing", "sep": ["[SEP]", idx["[SEP]"]], "cls": ["[CLS]", idx["[CLS]"]]}
    v["normalizer"] = dict(v["normalizer"] or {}, lowercase=False, strip_accents=None, handle_chinese_chars=False)
    put("fuzz_tokenizer_json", "bert-processing.json", json.dumps(v))
    v = json.loads(json.dumps(small))
    v["normalizer"] = None
    v["pre_tokenizer"] = None
    v["post_processor"] = None
    v["added_tokens"] = []
    put("fuzz_tokenizer_json", "bare.json", json.dumps(v))
    v = json.loads(json.dumps(small))
    v["model"]["type"] = "BPE"
    put("fuzz_tokenizer_json", "bpe-type.json", json.dumps(v))
    v = json.loads(json.dumps(small))
    v["model"]["vocab"]["dup"] = 5
    put("fuzz_tokenizer_json", "dup-id.json", json.dumps(v))
    v = json.loads(json.dumps(small))
    v["model"]["max_input_chars_per_word"] = 3
    v["model"]["continuing_subword_prefix"] = "@@"
    put("fuzz_tokenizer_json", "options.json", json.dumps(v))
    put("fuzz_tokenizer_json", "tiny.json", json.dumps({"model": {"type": "WordPiece", "unk_token": "[UNK]",
                                                                  "vocab": {"[UNK]": 0, "a": 1, "##b": 2}}}))

    put("fuzz_vocab_txt", "minilm-small.txt", "\n".join(words) + "\n")
    put("fuzz_vocab_txt", "crlf-bom.txt", "\ufeff" + "\r\n".join(words[:150]) + "\r\n")
    put("fuzz_vocab_txt", "empty-lines-dups.txt", "[PAD]\n[UNK]\n\n[CLS]\n[SEP]\n[MASK]\nthe\nthe\n##s\n\n")
    put("fuzz_vocab_txt", "no-specials.txt", "a\nb\n##c\n")
    put("fuzz_vocab_txt", "unicode.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n\u4e2d\n\u00e9\n##\u00e9\ncaf\u00e9\n\U0001F600\n")
    put("fuzz_vocab_txt", "long-token.txt", "[UNK]\n" + "x" * 5000 + "\n")


# ---- texts -----------------------------------------------------------------------------------
TEXTS = [
    "The cat sat on the mat because it was tired.",
    "Hello, world! It's 2024; don't panic... I'm fine.",
    "d\u00e9j\u00e0 vu, na\u00efve caf\u00e9, \u00c5ngstr\u00f6m, stra\u00dfe",
    "\u4e2d\u6587\u5b57\u7b26 \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \ud55c\uad6d\uc5b4",
    "emoji \U0001F600\U0001F44D\U0001F3FD family \U0001F468\u200d\U0001F469\u200d\U0001F467",
    "[CLS] [SEP] [MASK] [UNK] [PAD] ##ing <|im_start|>user\nhi<|im_end|><|endoftext|>",
    "    leading spaces\t\ttabs\n\nnewlines\r\n crlf \u00a0nbsp \u3000ideographic",
    "numbers 1234567890 3.14159 1,000,000 0x1F 1e-9",
    "code: for (int i = 0; i < n; i++) { x += a[i] * b[i]; } // <script>alert(1)</script>",
    "a\u0301e\u0301 combining, \u200b zero width, \u202e rtl override \u2028 line sep",
    "_" * 300,
    "a" * 300,
    " ".join(["word"] * 80),
]


def text_seeds():
    for i, t in enumerate(TEXTS):
        b = t.encode("utf-8")
        put("fuzz_utf8", "text%02d" % i, b)
        put("fuzz_wordpiece_encode", "text%02d" % i, bytes([0, 255]) + b)
        put("fuzz_bpe_encode", "text%02d" % i, bytes([i % 5 | 8]) + b)
    # options: pair + truncation + max_len; BPE: other pre-tokenizers, plain specials, replace
    put("fuzz_wordpiece_encode", "pair-trunc", bytes([1 | 4 | (9 << 3), 128]) + TEXTS[0].encode() + TEXTS[1].encode())
    put("fuzz_wordpiece_encode", "pair-nospecial", bytes([1 | 2, 60]) + TEXTS[2].encode() + TEXTS[3].encode())
    put("fuzz_wordpiece_encode", "limit", bytes([8 << 3, 255]) + TEXTS[12].encode())
    put("fuzz_wordpiece_encode", "invalid", bytes([0, 255]) + b"abc \xff\xfe \xc3 def")
    put("fuzz_bpe_encode", "specials-plain", bytes([16 | 8]) + TEXTS[5].encode())
    put("fuzz_bpe_encode", "specials-bos", bytes([0]) + TEXTS[5].encode())
    put("fuzz_bpe_encode", "replace", bytes([32 | 8 | 1]) + b"ok \xff\xfe\xed\xa0\x80 \xf0\x9f\x98 end")
    put("fuzz_bpe_encode", "invalid-refused", bytes([8]) + b"\xc0\xaf")
    put("fuzz_bpe_encode", "max8", bytes([0x80 | 8]) + TEXTS[0].encode())
    put("fuzz_bpe_encode", "tokenless", bytes([8 | 2]) + bytes(range(0, 40)))
    inv = [b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80",
           b"\x80", b"\xc3", b"\xe4\xb8", b"\xf0\x9f\x98", b"ok\xffok", b"\xef\xbf\xbd", b"\xf4\x8f\xbf\xbf",
           b"\x00\x01\x7f", bytes(range(256))]
    for i, b in enumerate(inv):
        put("fuzz_utf8", "bytes%02d" % i, b)


HOSTILE = ["</script><script>alert(1)</script>", "<!--", "-->", "]]>", "<![CDATA[x]]>", "\"'`", "&amp;&#0;&",
           "\x00nul", "\x01\x02\x1b[31mred\x1b[0m\x7f", "\u2028\u2029", "\ud800", "<svg onload=alert(1)>",
           "<img src=x onerror=alert(1)>", "javascript:alert(1)", "\u202e\u200b\ufeff", "\U0001F600", "##ing",
           "\u0120the", "[CLS]", "[SEP]", "<|im_start|>", "   ", "", "a" * 200]


def render_seeds():
    for i, opts in enumerate([0, 1, 2 | 1, 4, 6 | 1, 8, 16 | 32, 8 | 16 | 1]):
        toks = [HOSTILE[(i * 5 + k) % len(HOSTILE)] for k in range(4 + i)]
        body = b"\xff".join(t.encode("utf-8", "surrogatepass") for t in toks)
        put("fuzz_render", "hostile%02d" % i, bytes([opts]) + body)
    put("fuzz_render", "invalid-utf8", bytes([1]) + b"\xc3\xff\xe2\x80\xff\xed\xa0\x80\xff\xf4\x90\x80\x80\xff\x80")
    put("fuzz_render", "many", bytes([2]) + b"\xff".join(b"w%d" % k for k in range(47)))


def run_seeds():
    """Valid run files (the run-file target must start from files that load): made with the
    gaze binary named by $GAZE_BIN (skipped when unset) from MiniLM and the tiny Llama seed."""
    gaze = os.environ.get("GAZE_BIN")
    if not gaze:
        print("make_seeds: GAZE_BIN unset, no valid run-file seeds")
        return
    import subprocess
    import tempfile
    tiny = os.path.join(CORPUS, "fuzz_llama_gguf", "s-f32.gguf")
    jobs = [("bert-attn", [MINILM, "The cat sat.", "--layers", "0,5", "--heads", "0-2"]),
            ("bert-pair-all", [MINILM, "Hi there", "--pair", "a pair", "--layers", "1", "--heads", "3",
                               "--capture", "attn,scores,q,k,hidden"]),
            ("bert-f16", [MINILM, "\u00e9t\u00e9 \u4e2d", "--layers", "2", "--heads", "0", "--f16"]),
            ("llama-gen", [tiny, "Hello world", "--generate", "2", "--capture", "attn,scores,q,k,hidden"]),
            ("llama-attn", [tiny, "the cat", "--heads", "1"])]
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in jobs:
            out = os.path.join(tmp, name + ".safetensors")
            r = subprocess.run([gaze, "run"] + args + ["-o", out, "--quiet", "--threads", "1"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit("make_seeds: gaze run %s failed: %s" % (name, r.stderr.strip()))
            with open(out, "rb") as f:
                put("fuzz_runfile", name + ".safetensors", f.read())


# ---- SentencePiece model files (fuzz_spm_model: text length le16, text, ModelProto) ----------
def pb_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def pb_bytes(field, b):
    return pb_varint(field << 3 | 2) + pb_varint(len(b)) + b


def pb_fields(buf):
    """(field, wire type, raw bytes of the whole field) of one message, top level only."""
    i, out = 0, []
    while i < len(buf):
        start, key, shift = i, 0, 0
        while True:
            b = buf[i]; i += 1
            key |= (b & 0x7F) << shift; shift += 7
            if not b & 0x80:
                break
        wt = key & 7
        if wt == 0:
            while buf[i] & 0x80:
                i += 1
            i += 1
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            n, shift = 0, 0
            while True:
                b = buf[i]; i += 1
                n |= (b & 0x7F) << shift; shift += 7
                if not b & 0x80:
                    break
            i += n
        out.append((key >> 3, wt, buf[start:i]))
    return out


def spm_piece(text, score, typ=1):
    m = pb_bytes(1, text.encode()) + pb_varint(2 << 3 | 5) + struct.pack("<f", score)
    if typ != 1:
        m += pb_varint(3 << 3) + pb_varint(typ)
    return pb_bytes(1, m)


def spm_seeds():
    def put_spm(name, text, model):
        t = text.encode()
        put("fuzz_spm_model", name, struct.pack("<H", len(t)) + t + model)
    hand = b"".join([spm_piece("<unk>", 0, 2), spm_piece("<s>", 0, 3), spm_piece("</s>", 0, 3),
                     spm_piece("\u2581", -1.5), spm_piece("a", -2), spm_piece("b", -2.5), spm_piece("\u2581ab", -1),
                     spm_piece("\u00e9", -3), spm_piece("1", -3), spm_piece("<x>", 0, 5)])
    hand += pb_bytes(2, pb_varint(3 << 3) + pb_varint(1))     # trainer_spec: UNIGRAM
    hand += pb_bytes(3, pb_varint(3 << 3) + pb_varint(1))     # normalizer_spec: add_dummy_prefix
    put_spm("hand", "ab  a\tb \u00e9 1 <s> >>de<< z</s>b", hand)
    put_spm("hand_nows", "  ab a  ", hand + pb_bytes(3, pb_varint(4 << 3) + pb_varint(0) + pb_varint(5 << 3) + pb_varint(0)))
    fix = os.path.join(ROOT, "tests", "fixtures", "seq2seq", "marian_text", "source.spm")
    if os.path.exists(fix):
        full = open(fix, "rb").read()
        put_spm("marian", "the quick ＢＲＯＷＮ fox ① \u00a0 \u2603\u2603 >>de<< Привет<unk>日本", full)
        # the same pieces with an identity normalizer (no charsmap): small
        out = bytearray()
        for f, _, raw in pb_fields(full):
            if f == 3:   # normalizer_spec without precompiled_charsmap
                body = raw[1:]
                n, shift, k = 0, 0, 0
                while True:
                    b = body[k]; k += 1
                    n |= (b & 0x7F) << shift; shift += 7
                    if not b & 0x80:
                        break
                inner = body[k:k + n]
                out += pb_bytes(3, b"".join(r for g, _, r in pb_fields(inner) if g != 2))
            else:
                out += raw
        put_spm("marian_identity", "  leading   runs and tabs\there 123 ", bytes(out))


def main():
    gguf_seeds()
    render_seeds()
    run_seeds()
    json_seeds()
    config_seeds()
    tokenizer_seeds()
    text_seeds()
    spm_seeds()
    total = 0
    for dp, _, fs in os.walk(CORPUS):
        total += sum(os.path.getsize(os.path.join(dp, f)) for f in fs)
    print("make_seeds: corpora under %s, %.1f KiB in all" % (CORPUS, total / 1024))


if __name__ == "__main__":
    main()
