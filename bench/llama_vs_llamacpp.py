#!/usr/bin/env python3
"""gaze vs llama.cpp on the same GGUF file, measured in the same run.

Prompt processing (512 tokens) and generation (128 tokens after that prompt), tokens/s:
  * gaze: build/bench/bench_llama (in-process, model loaded once), capture off and full capture
    (every layer and head), in the default quantized mode and/or exact mode (--mode);
  * llama.cpp: libllama from the PyPI wheel llama-cpp-py-sync (loaded as
    tests/reference/gen_bpe_fixtures.py does), n_threads = n_threads_batch = 2, n_batch = 512;
    wall-clock time of the prompt's llama_decode and of the per-token decodes (+ argmax); the
    llama_perf_context figures are printed too.
Both sides get the same token ids (the prompt text is built so that llama.cpp, and so gaze,
tokenize it to exactly --prompt-tokens tokens), greedy decoding, the best of --reps repetitions.

One command (after building and creating the venv of tests/reference/requirements-llama.txt):
  /tmp/venv-llama/bin/python bench/llama_vs_llamacpp.py [--build build] [--mode quantized|exact|both]
      [--threads 2] [--reps 3] [--prompt-tokens 512] [--gen 128] [--gguf PATH]

Native llama.cpp (--native-bench PATH/llama-bench): the wheel is AVX2-only, so this mode compares
against a llama.cpp built for this CPU (GGML_NATIVE=ON; how to build it:
tests/reference/requirements-llama-native.txt). llama.cpp is timed by its own llama-bench:
pp = `-p P -n 0` (one P-token batch on an empty cache), tg = `-p 0 -n G -d P` (G single-token
decodes after a P-token context, as gaze's generation figure), -r --reps, best repetition; for
each thread count of --threads-list, interleaved llama.cpp / gaze / llama.cpp. The wheel is still
used to build the exact P-token prompt text for gaze (llama-bench feeds random token ids; the cost
of a forward pass does not depend on them). OMP_WAIT_POLICY=passive is set for both sides.
  OMP_WAIT_POLICY=passive /tmp/venv-llama/bin/python bench/llama_vs_llamacpp.py --build build \
      --native-bench /tmp/llnative/.../build/bin/llama-bench --threads-list 1,2
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
from gen_bpe_fixtures import load_llama_lib  # noqa: E402

GAZE_HOME = os.environ.get("GAZE_HOME", os.path.expanduser("~/.cache/gaze"))
DEFAULT_GGUF = os.path.join(GAZE_HOME, "models", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")

PARAGRAPH = (
    "The history of computing is a story of abstraction. Early machines were programmed by rewiring "
    "panels; later, stored programs let the same hardware run many different tasks. Assembly languages "
    "gave names to instructions, and compilers turned readable code into machine words. Operating "
    "systems shared one computer among many users, networks connected them, and the web put documents "
    "from everywhere a click away. Language models read text as tokens and predict the next one; "
    "attention lets every token look back at the ones before it and decide which matter. "
)


class LlamaCpp:
    def __init__(self, gguf, n_ctx, n_threads, n_batch):
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
        p = lib.llama_context_default_params()
        p.n_ctx = n_ctx
        p.n_batch = p.n_ubatch = n_batch
        p.n_threads = p.n_threads_batch = n_threads
        p.no_perf = False
        self.n_batch = n_batch
        self.ctx = lib.llama_init_from_model(self.model, p)
        if self.ctx == ffi.NULL:
            raise RuntimeError("llama.cpp could not create a context")
        self.system_info = ffi.string(lib.llama_print_system_info()).decode()

    def tokenize(self, text):
        data = text.encode("utf-8")
        buf = self.ffi.new("llama_token[]", len(data) + 16)
        n = self.lib.llama_tokenize(self.vocab, data, len(data), buf, len(data) + 16, True, True)
        assert n >= 0
        return [buf[i] for i in range(n)]

    def run(self, ids, n_gen):
        """Prompt eval then n_gen greedy single-token decodes. Returns wall-clock seconds of the
        prompt decode and per generated token (argmax included, as in gaze's timing), and the same
        two from llama_perf_context (which files the first single-token decode under prompt eval)."""
        lib, ffi = self.lib, self.ffi
        lib.llama_memory_clear(lib.llama_get_memory(self.ctx), True)
        lib.llama_perf_context_reset(self.ctx)
        toks = ffi.new("llama_token[]", ids)
        t0 = time.perf_counter()
        for i in range(0, len(ids), self.n_batch):
            assert lib.llama_decode(self.ctx, lib.llama_batch_get_one(toks + i, min(self.n_batch, len(ids) - i))) == 0
        t1 = time.perf_counter()
        one = ffi.new("llama_token[]", 1)
        for _ in range(n_gen):
            logits = np.frombuffer(ffi.buffer(lib.llama_get_logits_ith(self.ctx, -1), 4 * self.n_vocab), dtype=np.float32)
            one[0] = int(np.argmax(logits))
            assert lib.llama_decode(self.ctx, lib.llama_batch_get_one(one, 1)) == 0
        t2 = time.perf_counter()
        p = lib.llama_perf_context(self.ctx)
        return (t1 - t0, (t2 - t1) / n_gen, p.t_p_eval_ms / 1e3 / max(p.n_p_eval, 1) * len(ids),
                p.t_eval_ms / 1e3 / max(p.n_eval, 1))


def make_prompt(ll, n_tokens):
    """Text that llama.cpp tokenizes to exactly n_tokens ids: whole words, then single digits
    (this tokenizer splits every digit into its own token) to make up the count."""
    words = (PARAGRAPH * (1 + n_tokens // 60)).split(" ")
    lo, hi = 0, len(words)
    while lo < hi:   # most words whose text stays within n_tokens - 8
        mid = (lo + hi + 1) // 2
        if len(ll.tokenize(" ".join(words[:mid]))) <= n_tokens - 8:
            lo = mid
        else:
            hi = mid - 1
    text = " ".join(words[:lo]) + " "
    digits = 0
    while len(ll.tokenize(text + "7" * digits)) < n_tokens:
        digits += 1
    text += "7" * digits
    ids = ll.tokenize(text)
    assert len(ids) == n_tokens, (len(ids), n_tokens)
    return text, ids


def llama_bench(exe, gguf, threads, reps, args):
    """Best tokens/s of one llama-bench test (the max over its repetitions) and its JSON record."""
    cmd = [exe, "-m", gguf, "-t", str(threads), "-r", str(reps), "-o", "json"] + args
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()[-2000:]}")
    rec = json.loads(r.stdout)[0]
    return max(rec["samples_ts"]), rec


def native_system_info(exe):
    """llama_print_system_info() of the libllama next to llama-bench (a no-argument C call), in a
    child process: this one already holds the wheel's libggml-cpu.so.0, which the native
    libllama would bind to instead of its own (same SONAME)."""
    d = os.path.dirname(os.path.abspath(exe))
    for name in ("libllama.so", os.path.join("..", "src", "libllama.so")):
        path = os.path.join(d, name)
        if os.path.exists(path):
            code = ("import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); "
                    "lib.llama_print_system_info.restype = ctypes.c_char_p; "
                    "print(lib.llama_print_system_info().decode())")
            r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True)
            return r.stdout.strip() or r.stderr.strip()
    return "(libllama.so not found next to llama-bench)"


def run_gaze(args, prompt_file, threads, mode, n_prompt):
    cmd = [os.path.join(args.build, "bench", "bench_llama"), args.gguf, prompt_file, "--gen", str(args.gen),
           "--reps", str(args.reps), "--threads", str(threads), "--json"]
    if mode == "exact":
        cmd.append("--exact")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"gaze {mode}: {r.stderr.strip()}")
    g = json.loads(r.stdout.strip().splitlines()[-1])
    assert g["prompt_tokens"] == n_prompt, (g["prompt_tokens"], n_prompt)
    return g


def main_native(args):
    os.environ["OMP_WAIT_POLICY"] = "passive"
    ll = LlamaCpp(args.gguf, n_ctx=args.prompt_tokens + args.gen + 16, n_threads=1, n_batch=512)
    text, ids = make_prompt(ll, args.prompt_tokens)
    P, G = len(ids), args.gen
    exe = args.native_bench
    _, rec = llama_bench(exe, args.gguf, 1, 1, ["-p", "16", "-n", "0"])   # warm-up, build info
    print(f"model {args.gguf}\nllama.cpp native: {exe}\n  build_commit {rec.get('build_commit')} "
          f"build_number {rec.get('build_number')}; cpu_info {rec.get('cpu_info')}; backends {rec.get('backends')}\n"
          f"  system_info: {native_system_info(exe)}\nprompt {P} tokens, generation {G} tokens after it; "
          f"best of {args.reps}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}", flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
        fh.write(text)
        prompt_file = fh.name
    rows = []
    try:
        for nt in [int(t) for t in args.threads_list.split(",")]:
            lc_pp = lc_tg = 0.0
            gz = None
            for phase in range(3):   # llama.cpp, gaze, llama.cpp
                if phase == 1:
                    gz = run_gaze(args, prompt_file, nt, "quantized", P)
                    continue
                pp, _ = llama_bench(exe, args.gguf, nt, args.reps, ["-p", str(P), "-n", "0", "-d", "0"])
                tg, _ = llama_bench(exe, args.gguf, nt, args.reps, ["-p", "0", "-n", str(G), "-d", str(P)])
                lc_pp, lc_tg = max(lc_pp, pp), max(lc_tg, tg)
            g_pp, g_tg = P / gz["pp_off_s"], gz["gen_tokens"] / gz["tg_off_s"]
            g_ppc, g_tgc = P / gz["pp_cap_s"], gz["gen_tokens"] / gz["tg_cap_s"]
            rows.append((nt, lc_pp, lc_tg, g_pp, g_tg, g_ppc, g_tgc))
            print(f"  threads {nt}: llama.cpp pp {lc_pp:.1f} tg {lc_tg:.1f}; gaze pp {g_pp:.1f} tg {g_tg:.1f}", flush=True)
    finally:
        os.unlink(prompt_file)
    print()
    print(f"| threads | llama.cpp native pp{P} tok/s | gaze pp{P} tok/s | gaze/llama.cpp | "
          f"llama.cpp native tg{G} tok/s | gaze tg{G} tok/s | gaze/llama.cpp | gaze full capture pp / tg tok/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for nt, lp, lt, gp, gt, gpc, gtc in rows:
        print(f"| {nt} | {lp:.1f} | {gp:.1f} | {gp / lp:.2f}x | {lt:.1f} | {gt:.1f} | {gt / lt:.2f}x | {gpc:.1f} / {gtc:.1f} |")
    ll.lib.llama_free(ll.ctx)
    ll.lib.llama_model_free(ll.model)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--mode", choices=["quantized", "exact", "both"], default="quantized")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--native-bench", help="llama-bench of a native llama.cpp build: compare against it")
    ap.add_argument("--threads-list", default="1,2", help="thread counts of the --native-bench comparison")
    args = ap.parse_args()
    if args.native_bench:
        return main_native(args)

    ll = LlamaCpp(args.gguf, n_ctx=args.prompt_tokens + args.gen + 16, n_threads=args.threads, n_batch=512)
    text, ids = make_prompt(ll, args.prompt_tokens)
    from llama_cpp_py_sync import __llama_cpp_tag__, __version__
    print(f"model {args.gguf}\nllama.cpp {__llama_cpp_tag__} (llama-cpp-py-sync {__version__}, {ll.how})\n"
          f"  {ll.system_info}\nprompt: {len(ids)} tokens; generation: {args.gen} tokens; "
          f"{args.threads} threads; best of {args.reps}", flush=True)

    # llama.cpp: warm-up, then the repetitions
    ll.run(ids[:16], 4)
    lc = [ll.run(ids, args.gen) for _ in range(args.reps)]
    lc_pp = min(r[0] for r in lc)
    lc_tg = min(r[1] for r in lc)

    modes = ["quantized", "exact"] if args.mode == "both" else [args.mode]
    gz = {}
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
        fh.write(text)
        prompt_file = fh.name
    try:
        for mode in modes:
            cmd = [os.path.join(args.build, "bench", "bench_llama"), args.gguf, prompt_file, "--gen", str(args.gen),
                   "--reps", str(args.reps), "--threads", str(args.threads), "--json"]
            if mode == "exact":
                cmd.append("--exact")
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"gaze {mode}: FAILED: {r.stderr.strip()}")
                continue
            if r.stderr.strip():
                print(r.stderr.strip())
            gz[mode] = json.loads(r.stdout.strip().splitlines()[-1])
            assert gz[mode]["prompt_tokens"] == len(ids), (gz[mode]["prompt_tokens"], len(ids))
    finally:
        os.unlink(prompt_file)

    # a second llama.cpp pass after gaze, so a load change during the run shows
    lc2 = [ll.run(ids, args.gen) for _ in range(args.reps)]
    lc_pp = min(lc_pp, min(r[0] for r in lc2))
    lc_tg = min(lc_tg, min(r[1] for r in lc2))
    P, G = len(ids), args.gen

    rows = [("llama.cpp", P / lc_pp, 1 / lc_tg, None, None)]
    for mode, g in gz.items():
        pp_off, pp_cap = P / g["pp_off_s"], P / g["pp_cap_s"]
        tg_off, tg_cap = g["gen_tokens"] / g["tg_off_s"], g["gen_tokens"] / g["tg_cap_s"]
        rows.append((f"gaze {mode}, capture off", pp_off, tg_off, pp_off / (P / lc_pp), tg_off * lc_tg))
        rows.append((f"gaze {mode}, full capture", pp_cap, tg_cap, pp_cap / (P / lc_pp), tg_cap * lc_tg))
    print()
    print(f"| run | prompt {P} tok/s | generation {G} tok/s | prompt vs llama.cpp | generation vs llama.cpp |")
    print("|---|---:|---:|---:|---:|")
    for name, pp, tg, rp, rt in rows:
        print(f"| {name} | {pp:.1f} | {tg:.1f} | {'' if rp is None else f'{rp:.2f}x'} | {'' if rt is None else f'{rt:.2f}x'} |")
    print()
    ok = True
    for mode, g in gz.items():
        pp_ratio = (P / g["pp_off_s"]) / (P / lc_pp)
        tg_ratio = (g["gen_tokens"] / g["tg_off_s"]) * lc_tg
        cap_pp, cap_tg = g["pp_cap_s"] / g["pp_off_s"], g["tg_cap_s"] / g["tg_off_s"]
        bars = [("prompt >= 0.5x llama.cpp", pp_ratio >= 0.5, f"{pp_ratio:.2f}x"),
                ("generation >= 0.5x llama.cpp", tg_ratio >= 0.5, f"{tg_ratio:.2f}x"),
                ("full capture <= 1.5x time (prompt)", cap_pp <= 1.5, f"{cap_pp:.2f}x"),
                ("full capture <= 1.5x time (generation)", cap_tg <= 1.5, f"{cap_tg:.2f}x")]
        whole = (g["pp_cap_s"] + g["tg_cap_s"]) / (g["pp_off_s"] + g["tg_off_s"])
        bars.append(("full capture <= 1.5x time (whole run: prompt + generation)", whole <= 1.5, f"{whole:.2f}x"))
        for what, passed, val in bars:
            print(f"gaze {mode}: {what}: {val} {'PASS' if passed else 'FAIL'}")
            ok = ok and passed
    print(f"llama.cpp llama_perf_context (best): prompt {P / min(r[2] for r in lc + lc2):.1f} tok/s, "
          f"generation {1 / min(r[3] for r in lc + lc2):.1f} tok/s")
    ll.lib.llama_free(ll.ctx)
    ll.lib.llama_model_free(ll.model)
    return 0 if ok and gz else 1


if __name__ == "__main__":
    sys.exit(main())
