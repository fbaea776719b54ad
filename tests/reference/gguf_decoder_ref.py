"""What the golden-fixture generators of gaze's GGUF decoders share (gen_llama_fixtures.py for
SmolLM2, gen_gemma3_fixtures.py for Gemma 3): the prompt set, llama.cpp as the reference for token
ids and its greedy tokens, the pinned-version check, HF greedy generation with every step's
logit margin, the choice of query rows kept, and the per-case attention file and record.

Not a script. Each generator's docstring says how to run it, with its own pins; this module
needs what both need (torch, numpy, safetensors; llama-cpp-py-sync through gen_bpe_fixtures).
"""
import argparse
import hashlib
import importlib.metadata
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from gen_bpe_fixtures import load_llama_lib  # noqa: E402  (patched libllama loader)

GAZE_HOME = os.environ.get("GAZE_HOME", os.path.expanduser("~/.cache/gaze"))

N_GEN = 32             # greedy tokens generated per prompt
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

# SmolLM2's set; gen_gemma3_fixtures.py swaps the ChatML prompts for Gemma's chat turns
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


def open_llamacpp(gguf, versions, **kw):
    """LlamaCpp on gguf; records the llama.cpp build in versions["llama.cpp"]."""
    ll = LlamaCpp(gguf, **kw)
    from llama_cpp_py_sync import __llama_cpp_tag__
    versions["llama.cpp"] = __llama_cpp_tag__
    return ll

# ------------------------------------------------------------------------------------------


def start(default_gguf, default_out, pins, threads):
    """The command line (--gguf, --out: made if missing), torch's threads and seed; returns
    (args, the installed versions of pins, the GGUF's sha256)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=default_gguf)
    ap.add_argument("--out", default=default_out)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    return args, installed_versions(pins), file_sha256(args.gguf)


def load_model(gguf, **kw):
    """transformers' GGUF loader: every weight dequantized to f32, eager attention (so
    output_attentions gives the softmax weights), in eval mode."""
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf),
                                                 torch_dtype=torch.float32, attn_implementation="eager", **kw)
    model.eval()
    return model


def installed_versions(pins):
    """The installed version of each pinned package; a warning for each that differs."""
    versions = {p: importlib.metadata.version(p) for p in pins}
    for p, v in pins.items():
        if versions[p] != v:
            print(f"warning: {p} {versions[p]} installed, {v} pinned", file=sys.stderr)
    return versions


def file_sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def margin(logits):
    top2 = torch.topk(logits.double(), 2).values
    return float(top2[0] - top2[1])


def pick_rows(T, n, last_fed, max_rows=MAX_ROWS):
    """Query rows to keep: first, last prompt, first and last generated, evenly spread others."""
    rows = list(range(last_fed + 1))
    if len(rows) <= max_rows:
        return rows
    must = {0, T - 1, last_fed}
    if T < last_fed + 1:
        must.add(T)
    rest = max_rows - len(must)
    spread = np.linspace(0, last_fed, rest + 2)[1:-1].round().astype(int).tolist()
    out = set(must)
    for r in spread:
        while r in out:
            r += 1
        if r <= last_fed:
            out.add(r)
    return sorted(out)[:max_rows]


def hf_greedy(model, ids, eos, pad, n_gen=N_GEN):
    """HF generate(do_sample=False) from ids: (generated ids, every step's margin, prompt +
    generated ids, the index of the last token fed: the EOS that stops generation is never fed,
    so it has no attention row)."""
    x = torch.tensor([ids])
    with torch.no_grad():
        g = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=n_gen, do_sample=False,
                           eos_token_id=eos, pad_token_id=pad, output_logits=True, return_dict_in_generate=True)
    gen = g.sequences[0, len(ids):].tolist()
    margins = [margin(step[0]) for step in g.logits]
    seq = ids + gen
    last_fed = len(seq) - 1 - (1 if gen and gen[-1] == eos else 0)
    return gen, margins, seq, last_fed


def save_attention(out_dir, ci, name, attentions, rows, layers, generator):
    """case_CI.safetensors: the rows kept and, per layer, every head's attention at those rows.
    Returns the file's name."""
    tensors = {"rows": np.array(rows, dtype=np.int64)}
    for l in layers:
        a = attentions[l][0].float().numpy()          # [H, n, n]
        tensors[f"attention.{l}"] = np.ascontiguousarray(a[:, rows, :])
    fname = f"case_{ci:02d}.safetensors"
    save_file(tensors, os.path.join(out_dir, fname), metadata={"name": name, "generator": generator})
    return fname


def case_record(name, text, ids, top1, gen, margins, llg, attention_file, rows, layers, extra=None):
    """One entry of cases.json (extra: the generator's own fields, after n_prompt)."""
    return {
        "name": name, "text": text, "ids": ids, "n_prompt": len(ids),
        **(extra or {}),
        "top1": top1, "top1_margin": margins[0],
        "greedy": gen, "greedy_margins": margins, "min_margin": min(margins),
        "llamacpp_greedy": llg,
        "attention_file": attention_file, "rows": rows, "layers": layers,
    }


def report(ci, case, note=""):
    """One progress line per case."""
    gen, llg, margins = case["greedy"], case["llamacpp_greedy"], case["greedy_margins"]
    agree = sum(a == b for a, b in zip(llg, gen))
    print(f"{ci:2d} {case['name']:16s} T={case['n_prompt']:3d} gen={len(gen):2d} top1={case['top1']:6d} "
          f"margin={margins[0]:7.3f} min_margin={min(margins):7.3f} {note}llama.cpp greedy agrees {agree}/{len(gen)}",
          flush=True)


def fixtures_total(path, cases, long_T, out_dir):
    total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(f"{path}: {len(cases)} cases, long prompt {long_T} tokens; fixtures total {total} bytes")
