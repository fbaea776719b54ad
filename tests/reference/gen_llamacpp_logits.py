#!/usr/bin/env python3
"""llama.cpp's own logits on the GGUF twins of the tiny decoder fixtures (issue 13: "quantized
mode top-1 agreement with llama.cpp reported"; here the question is whether gaze's reading of a
family's GGUF keys, YaRN above all, is what llama.cpp computes from the same file).

For every case of tests/fixtures/decoders/<family>/golden.safetensors (token ids, transformers'
last-position logits) the ids are fed to llama.cpp's libllama, b11739 as the PyPI wheel
llama-cpp-py-sync 0.11739 ships it (an AVX2 CPU build, loaded with cffi through
gen_bpe_fixtures.load_llama_lib; pinned in requirements-gemma3.txt), one llama_decode of the
whole case, flash attention off, one thread, with an f32 KV cache (what the graph computes) and
with llama.cpp's default f16 cache (keys and values rounded to 11 significant bits). It prints,
per family, the largest |llama.cpp - transformers| over the vocabulary and cases, and writes what
llama.cpp computes (f32 cache) for qwen2 (YaRN: factor 4, original context 16) to
tests/fixtures/decoders_gguf/qwen2_llamacpp.safetensors (case<i>.ids, case<i>.logits), which
tests/test_decoder_gguf.c holds gaze's logits against.

  python3 -m venv /tmp/venv-gemma3 && /tmp/venv-gemma3/bin/pip install -r tests/reference/requirements-gemma3.txt
  /tmp/venv-gemma3/bin/python tests/reference/gen_llamacpp_logits.py
(only llama-cpp-py-sync, cffi and pycparser of that list are used here)
"""
import argparse
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAMILIES = ["qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3", "gpt2"]
WRITE = {"qwen2"}   # the families whose llama.cpp logits become a fixture
# Gemma 2's GGUF cannot carry query_pre_attn_scalar: also against transformers run with
# query_pre_attn_scalar = head_dim (what gen_decoder_gguf_fixtures.py says llama.cpp computes)
ALSO = {"gemma2": os.path.join(ROOT, "tests", "fixtures", "decoders_gguf", "gemma2_llamacpp.safetensors")}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack_from("<Q", data, 0)[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        raw = data[8 + n + a:8 + n + b]
        fmt = {"F32": "f", "I32": "i"}[t["dtype"]]
        out[name] = list(struct.unpack("<%d%s" % (len(raw) // 4, fmt), raw))
    return out


def write_safetensors(path, tensors, metadata):
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, (dtype, values) in tensors.items():
        raw = struct.pack("<%d%s" % (len(values), {"F32": "f", "I32": "i"}[dtype]), *values)
        header[name] = {"dtype": dtype, "shape": [len(values)], "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class Llama:
    def __init__(self):
        sys.path.insert(0, HERE)
        from gen_bpe_fixtures import load_llama_lib
        self.lib, self.ffi, self.how = load_llama_lib()
        self._quiet = self.ffi.callback("void(enum ggml_log_level, const char *, void *)", lambda *a: None)
        self.lib.llama_log_set(self._quiet, self.ffi.NULL)
        self.lib.llama_backend_init()

    def logits(self, gguf, ids, kv):
        """The last position's logits of one llama_decode of ids; kv: "f32" or "f16" cache."""
        lib, ffi = self.lib, self.ffi
        mp = lib.llama_model_default_params()
        # the fixtures' stand-in vocabulary says pre-tokenizer "gpt2", a name this llama.cpp
        # does not know; the ids are fed directly, so any known one will do
        ov = ffi.new("struct llama_model_kv_override[2]")
        ov[0].tag = 3  # LLAMA_KV_OVERRIDE_TYPE_STR
        ov[0].key = b"tokenizer.ggml.pre"
        ov[0].val_str = b"default"
        mp.kv_overrides = ov
        model = lib.llama_model_load_from_file(gguf.encode(), mp)
        if model == ffi.NULL:
            raise SystemExit(f"llama.cpp could not load {gguf}")
        p = lib.llama_context_default_params()
        p.n_ctx = p.n_batch = p.n_ubatch = max(64, len(ids))
        p.n_threads = p.n_threads_batch = 1
        p.flash_attn_type = lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        p.type_k = p.type_v = lib.GGML_TYPE_F32 if kv == "f32" else lib.GGML_TYPE_F16
        ctx = lib.llama_init_from_model(model, p)
        if ctx == ffi.NULL:
            raise SystemExit("llama.cpp could not create a context")
        toks = ffi.new("llama_token[]", ids)
        if lib.llama_decode(ctx, lib.llama_batch_get_one(toks, len(ids))) != 0:
            raise SystemExit(f"{gguf}: llama_decode failed")
        n_vocab = lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(model))
        z = list(ffi.unpack(lib.llama_get_logits_ith(ctx, -1), n_vocab))
        lib.llama_free(ctx)
        lib.llama_model_free(model)
        return z


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.parse_args()
    llama = Llama()
    print(f"llama.cpp: llama-cpp-py-sync 0.11739 ({llama.how}); "
          f"{llama.ffi.string(llama.lib.llama_print_system_info()).decode().strip()}")
    for family in FAMILIES:
        gguf = os.path.join(ROOT, "tests", "fixtures", "decoders_gguf", family + ".gguf")
        golden = read_safetensors(os.path.join(ROOT, "tests", "fixtures", "decoders", family, "golden.safetensors"))
        worst = {"f32": 0.0, "f16": 0.0}
        top1 = {"f32": 0, "f16": 0}
        fixture = {}
        i = 0
        while f"case{i}.ids" in golden:
            ids, ref = golden[f"case{i}.ids"], golden[f"case{i}.logits"]
            for kv in ("f32", "f16"):
                z = llama.logits(gguf, ids, kv)
                if len(z) != len(ref):
                    raise SystemExit(f"{family} case {i}: llama.cpp gave {len(z)} logits, transformers {len(ref)}")
                worst[kv] = max(worst[kv], max(abs(a - b) for a, b in zip(z, ref)))
                top1[kv] += max(range(len(z)), key=z.__getitem__) == max(range(len(ref)), key=ref.__getitem__)
                if kv == "f32":
                    fixture[f"case{i}.ids"] = ("I32", ids)
                    fixture[f"case{i}.logits"] = ("F32", z)
            i += 1
        print(f"{family:12s} {i} cases: max |llama.cpp - transformers| {worst['f32']:.3g} (f32 KV cache), "
              f"{worst['f16']:.3g} (f16 KV cache); top-1 agrees {top1['f32']}/{i}, {top1['f16']}/{i}")
        if family in ALSO:
            alt = read_safetensors(ALSO[family])
            e = max(max(abs(a - b) for a, b in zip(llama.logits(gguf, alt[f"case{j}.ids"], "f32"), alt[f"case{j}.logits"]))
                    for j in range(i))
            print(f"  against {os.path.relpath(ALSO[family], ROOT)}: {e:.3g} (f32 KV cache)")
        if family in WRITE:
            path = os.path.join(ROOT, "tests", "fixtures", "decoders_gguf", family + "_llamacpp.safetensors")
            write_safetensors(path, fixture, {"source": "llama.cpp b11739 (PyPI llama-cpp-py-sync 0.11739), "
                                                        "tests/reference/gen_llamacpp_logits.py, f32 KV cache"})
            print(f"  wrote {os.path.relpath(path, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
