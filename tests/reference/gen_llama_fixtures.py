#!/usr/bin/env python3
"""Golden fixtures for gaze's Llama path (src/models/llama.c) on SmolLM2-135M-Instruct.Q4_1.gguf.

Peers (pinned in requirements-llama.txt):
  * transformers 4.46.3 GGUF loader, torch 2.5.1 on CPU: AutoModelForCausalLM.from_pretrained(
    folder, gguf_file=..., torch_dtype=float32, attn_implementation="eager") dequantizes every
    weight to f32 exactly as gaze's exact mode does; output_attentions=True gives the softmax
    weights. The GGUF has no output.weight (tied embedding) but transformers 4.46.3 reads
    tie_word_embeddings=False from it and leaves lm_head random, so the model is loaded with
    tie_word_embeddings=True (checked below: lm_head is the embedding).
  * llama.cpp (libllama from the PyPI wheel llama-cpp-py-sync, loaded as in gen_bpe_fixtures.py):
    the reference for token ids, and its greedy tokens with its own quantized kernels (what
    gaze's default quantized mode is compared against).

Token ids and BOS. This GGUF has tokenizer.ggml.add_bos_token = false: llama.cpp (and gaze) add
no BOS. transformers' GGUF tokenizer always prepends BOS (<|im_start|>, id 1), and on a few
non-ASCII digit forms it splits differently (see tests/fixtures/bpe/cases.json). So llama.cpp's
ids are the reference; HF's model is fed exactly those ids (no BOS), and cases.json records
HF's own tokenization and whether it agrees (BOS aside) for information only.

For each prompt: the ids; HF's top-1 next token and its logit margin over the runner-up; 32
greedy tokens from HF generate(do_sample=False) with the margin (top-1 minus top-2 logit) of
every step (a small margin flags a near-tie where f32 rounding may flip the choice); llama.cpp's
greedy tokens; and, from one HF forward over prompt + generated tokens, the attention weights of
layers 0, 14 and 29 (all 9 heads) for a subset of query rows (prompt and generated rows; a
trailing EOS is never fed, so it has no row) in case_NN.safetensors.

  python3 -m venv /tmp/venv-llama && /tmp/venv-llama/bin/pip install -r tests/reference/requirements-llama.txt
  /tmp/venv-llama/bin/python tests/reference/gen_llama_fixtures.py [--gguf PATH] [--out tests/fixtures/llama]
"""
import argparse
import hashlib
import json
import os
import platform
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from gen_bpe_fixtures import load_llama_lib  # noqa: E402  (patched libllama loader)

GAZE_HOME = os.environ.get("GAZE_HOME", os.path.expanduser("~/.cache/gaze"))
DEFAULT_GGUF = os.path.join(GAZE_HOME, "models", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")

PINS = {"torch": "2.5.1", "transformers": "4.46.3", "tokenizers": "0.20.3", "gguf": "0.10.0",
        "numpy": "1.26.4", "safetensors": "0.4.5", "llama-cpp-py-sync": "0.11739"}

N_GEN = 32
LAYERS = [0, 14, 29]
MAX_ROWS = 12          # query rows kept per case (all rows when the sequence is shorter)

LONG = (
    "The history of computing is a story of abstraction. Early machines were programmed by "
    "rewiring panels; later, stored programs let the same hardware run many different tasks. "
    "Assembly languages gave names to instructions, and compilers turned readable code into "
    "machine words. In 1957 FORTRAN showed that a compiler could produce fast code, and by 1972 "
    "C had become the language of operating systems. Personal computers arrived in the late "
    "1970s, and graphical interfaces followed a decade later. The web connected them in the "
    "1990s, and phones put a computer in every pocket soon after.\n\n"
    "Today, a language model with 135 million parameters can run on a laptop: it reads a "
    "prompt, splits it into tokens, and predicts the next one, again and again. Each layer "
    "mixes information between positions with attention: every token looks back at the tokens "
    "before it, weighs them, and blends what it finds. Some heads attend to the previous token, "
    "some to the first token of the text, and some follow the structure of sentences or code. "
    "Looking at these weights is one way to understand what a model does, although attention is "
    "not the whole story: the feed-forward layers store much of what the model knows.\n\n"
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n"
    "Chat models wrap each turn of a conversation in control tokens, which must never be split. "
    "Numbers are another special case: this tokenizer splits every digit, so 2024 becomes four "
    "tokens. In summary, the main idea of this text is that"
)

PROMPTS = [
    ("capital", "The capital of France is"),
    ("story", "Once upon a time, in a small village by the sea, there lived"),
    ("code_python", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"),
    ("code_c", "#include <stdio.h>\n\nint main(void) {\n    for (int i = 0; i < 10; i++) {\n"),
    ("code_sql", "SELECT name, COUNT(*) AS n FROM users WHERE age > 30 GROUP BY"),
    ("arithmetic", "2 + 2 = 4, 3 + 5 = 8, 12 * 12 ="),
    ("numbers_dates", "In 1969, Apollo 11 landed on the Moon. Fifty years later, in 2019,"),
    ("list", "Shopping list:\n1. apples\n2. bananas\n3."),
    ("german", "Die Hauptstadt von Deutschland ist Berlin. Die Hauptstadt von Frankreich ist"),
    ("french", "Le chat est assis sur le tapis, et le chien"),
    ("chinese", "我们今天去公园散步，天气非常好。"),
    ("russian", "Москва — столица России. Столица Франции —"),
    ("emoji", "I love 🍕 and 🎉! My favourite emoji is"),
    ("emoji_only", "😀😃😄😁😆🥲👍🏽"),
    ("repeated_words", "the the the the the the the the the the the the"),
    ("repeated_phrase", "I am happy. I am happy. I am happy. I am"),
    ("chat_system", "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                    "<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
                    "<|im_start|>assistant\n"),
    ("chat_haiku", "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n"),
    ("json", "{\"name\": \"Alice\", \"age\": 30, \"languages\": [\"English\", \"French\"], \"city\":"),
    ("url", "Visit https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct for"),
    ("whitespace", "  leading spaces\n\n\ttabs and   multiple    spaces\n"),
    ("single_token", "Hello"),
    ("latex", "The formula $E = mc^2$ means that"),
    ("question", "Q: What is the boiling point of water at sea level?\nA:"),
    ("long_300", LONG),
]

# ------------------------------------------------------------------------------------------
# llama.cpp
# ------------------------------------------------------------------------------------------


class LlamaCpp:
    def __init__(self, gguf, n_ctx=1024, n_threads=2):
        self.lib, self.ffi, self.how = load_llama_lib()
        lib, ffi = self.lib, self.ffi
        self._quiet = ffi.callback("void(enum ggml_log_level, const char *, void *)", lambda *a: None)
        lib.llama_log_set(self._quiet, ffi.NULL)
        lib.llama_backend_init()
        self.model = lib.llama_model_load_from_file(gguf.encode(), lib.llama_model_default_params())
        if self.model == ffi.NULL:
            raise RuntimeError(f"llama.cpp could not load {gguf}")
        self.vocab = lib.llama_model_get_vocab(self.model)
        self.n_vocab = lib.llama_vocab_n_tokens(self.vocab)
        self.eos = lib.llama_vocab_eos(self.vocab)
        p = lib.llama_context_default_params()
        p.n_ctx = n_ctx
        p.n_batch = p.n_ubatch = 512
        p.n_threads = p.n_threads_batch = n_threads
        p.no_perf = False
        self.ctx = lib.llama_init_from_model(self.model, p)
        if self.ctx == ffi.NULL:
            raise RuntimeError("llama.cpp could not create a context")

    def tokenize(self, text):
        data = text.encode("utf-8")
        cap = len(data) + 16
        buf = self.ffi.new("llama_token[]", cap)
        n = self.lib.llama_tokenize(self.vocab, data, len(data), buf, cap, True, True)
        assert n >= 0
        return [buf[i] for i in range(n)]

    def greedy(self, ids, n_gen):
        lib, ffi = self.lib, self.ffi
        lib.llama_memory_clear(lib.llama_get_memory(self.ctx), True)
        out = []
        toks = ffi.new("llama_token[]", ids)
        for i in range(0, len(ids), 512):
            assert lib.llama_decode(self.ctx, lib.llama_batch_get_one(toks + i, min(512, len(ids) - i))) == 0
        for _ in range(n_gen):
            logits = np.frombuffer(ffi.buffer(lib.llama_get_logits_ith(self.ctx, -1), 4 * self.n_vocab),
                                   dtype=np.float32)
            t = int(np.argmax(logits))
            out.append(t)
            if t == self.eos or len(out) == n_gen:
                break
            one = ffi.new("llama_token[]", [t])
            assert lib.llama_decode(self.ctx, lib.llama_batch_get_one(one, 1)) == 0
        return out

    def close(self):
        self.lib.llama_free(self.ctx)
        self.lib.llama_model_free(self.model)

# ------------------------------------------------------------------------------------------


def margin(logits):
    top2 = torch.topk(logits.double(), 2).values
    return float(top2[0] - top2[1])


def pick_rows(T, n, last_fed):
    """Query rows to keep: first, last prompt, first and last generated, evenly spread others."""
    rows = list(range(last_fed + 1))
    if len(rows) <= MAX_ROWS:
        return rows
    must = {0, T - 1, last_fed}
    if T < last_fed + 1:
        must.add(T)
    rest = MAX_ROWS - len(must)
    spread = np.linspace(0, last_fed, rest + 2)[1:-1].round().astype(int).tolist()
    out = set(must)
    for r in spread:
        while r in out:
            r += 1
        if r <= last_fed:
            out.add(r)
    return sorted(out)[:MAX_ROWS]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "llama"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(2)
    torch.manual_seed(0)

    import importlib.metadata as md
    versions = {p: md.version(p) for p in PINS}
    for p, v in PINS.items():
        if versions[p] != v:
            print(f"warning: {p} {versions[p]} installed, {v} pinned", file=sys.stderr)

    sha = hashlib.sha256(open(args.gguf, "rb").read()).hexdigest()
    folder, fname = os.path.dirname(args.gguf), os.path.basename(args.gguf)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=fname)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=fname, torch_dtype=torch.float32,
                                                 attn_implementation="eager", tie_word_embeddings=True)
    model.eval()
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(), "lm_head not tied"
    cfg = model.config
    assert cfg.num_hidden_layers == 30 and cfg.num_attention_heads == 9 and cfg.num_key_value_heads == 3

    ll = LlamaCpp(args.gguf)
    from llama_cpp_py_sync import __llama_cpp_tag__
    versions["llama.cpp"] = __llama_cpp_tag__

    cases = []
    for ci, (name, text) in enumerate(PROMPTS):
        ids = ll.tokenize(text)
        hf_ids = tok(text, add_special_tokens=True).input_ids
        hf_bos = len(hf_ids) > 0 and hf_ids[0] == tok.bos_token_id
        hf_body = hf_ids[1:] if hf_bos else hf_ids
        T = len(ids)
        x = torch.tensor([ids])
        with torch.no_grad():
            g = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=N_GEN, do_sample=False,
                               eos_token_id=cfg.eos_token_id, pad_token_id=cfg.eos_token_id,
                               output_logits=True, return_dict_in_generate=True)
        gen = g.sequences[0, T:].tolist()
        margins = [margin(step[0]) for step in g.logits]
        seq = ids + gen
        # the EOS that stops generation is never fed, so it has no attention row
        last_fed = len(seq) - 1 - (1 if gen and gen[-1] == cfg.eos_token_id else 0)
        with torch.no_grad():
            out = model(torch.tensor([seq]), output_attentions=True)
        # the first generated token must be the argmax of the prompt's last logits (same model)
        top1 = int(torch.argmax(out.logits[0, T - 1]))
        assert top1 == gen[0], (name, top1, gen[0])
        rows = pick_rows(T, len(seq), last_fed)
        tensors = {"rows": np.array(rows, dtype=np.int64)}
        for l in LAYERS:
            a = out.attentions[l][0].float().numpy()          # [H, n, n]
            tensors[f"attention.{l}"] = np.ascontiguousarray(a[:, rows, :])
        fname_case = f"case_{ci:02d}.safetensors"
        save_file(tensors, os.path.join(args.out, fname_case),
                  metadata={"name": name, "generator": "tests/reference/gen_llama_fixtures.py"})
        llg = ll.greedy(ids, N_GEN)
        case = {
            "name": name, "text": text, "ids": ids, "n_prompt": T,
            "hf_tokenizer_ids": hf_ids, "hf_tokenizer_adds_bos": hf_bos,
            "hf_tokenizer_agrees": hf_body == ids,
            "top1": top1, "top1_margin": margins[0],
            "greedy": gen, "greedy_margins": margins, "min_margin": min(margins),
            "llamacpp_greedy": llg,
            "attention_file": fname_case, "rows": rows, "layers": LAYERS,
        }
        cases.append(case)
        agree = sum(a == b for a, b in zip(llg, gen))
        print(f"{ci:2d} {name:16s} T={T:3d} gen={len(gen):2d} top1={top1:5d} margin={margins[0]:7.3f} "
              f"min_margin={min(margins):7.3f} hf_tok={'ok' if case['hf_tokenizer_agrees'] else 'DIFF'} "
              f"llama.cpp greedy agrees {agree}/{len(gen)}", flush=True)
    ll.close()

    long_T = next(c["n_prompt"] for c in cases if c["name"] == "long_300")
    assert long_T >= 300, long_T
    doc = {
        "generator": "tests/reference/gen_llama_fixtures.py",
        "gguf": os.path.basename(args.gguf), "gguf_sha256": sha,
        "versions": versions, "python": platform.python_version(),
        "reference": "transformers GGUF loader (dequantized f32, eager attention, tied lm_head) fed "
                     "llama.cpp's token ids; greedy = HF generate(do_sample=False, eos 2); attention from "
                     "one HF forward over prompt + generated tokens",
        "bos": "GGUF add_bos_token=false: llama.cpp and gaze add no BOS; HF's GGUF tokenizer prepends "
               "<|im_start|> (id 1), so HF is fed llama.cpp's ids",
        "n_gen": N_GEN, "layers": LAYERS,
        "config": {"n_layers": cfg.num_hidden_layers, "n_heads": cfg.num_attention_heads,
                   "n_kv_heads": cfg.num_key_value_heads, "n_embd": cfg.hidden_size,
                   "rope_theta": cfg.rope_theta, "rms_norm_eps": cfg.rms_norm_eps},
        "cases": cases,
    }
    path = os.path.join(args.out, "cases.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=1)
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"{path}: {len(cases)} cases, long prompt {long_T} tokens; fixtures total {total} bytes")


if __name__ == "__main__":
    sys.exit(main())
