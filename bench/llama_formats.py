#!/usr/bin/env python3
"""gaze vs a native llama.cpp on the GGUF formats people download (issue 20), one command.

SmolLM2-135M-Instruct (the Q4_1 file) is requantised with llama.cpp's own llama-quantize
(--allow-requantize) into each format; then, per format and thread count, llama.cpp's
llama-bench and gaze's build/bench/bench_llama run on the same file, interleaved (llama.cpp
prompt, llama.cpp generation, gaze, per repetition), best of --reps:

  prompt processing:  P tokens (llama-bench -p P -n 0; gaze: run(prompt, generate 0))
  generation:         G tokens after a P-token context (llama-bench -p 0 -n G -d P; gaze:
                      run(prompt, generate G) - run(prompt, generate 0), per token)

The OpenMP wait policy is left at its default on both sides (OMP_WAIT_POLICY is removed from
the environment): never run more threads than free cores. gaze runs with OMP_NUM_THREADS and
GAZE_THREADS set to the thread count, so no part of it uses more threads than llama-bench -t.

Bandwidth yardstick: "MB/tok" is the bytes of weights one generated token reads, from the GGUF
itself (every 2-D weight once; the tied embedding once, as the output head; norms and the one
embedding row are negligible), so the same figure for both engines; GB/s = MB/tok x tok/s. "copy"
is this machine's memcpy bandwidth (read + write bytes) and "read" its streaming read bandwidth
on the same thread count (build/bench/bench_membw, a 1 GiB buffer, far past the caches). A model
this small may sit partly in the last-level cache, so GB/s above "read" is possible.

Needs: a built gaze (cmake --build build), and llama.cpp's llama-quantize and llama-bench (a
native build: tests/reference/requirements-llama-native.txt). Python 3 standard library only.

  python3 bench/llama_formats.py [--llama-bin DIR] [--build build] [--threads 1,2] [--reps 3] [--capture]
                                 [--formats Q4_0,Q4_1,...] [--workdir DIR] [--json OUT]
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

DEFAULT_FORMATS = "Q4_0,Q4_1,Q5_0,Q5_1,Q8_0,Q4_K_S,Q4_K_M,Q5_K_S,Q5_K_M,Q6_K"
DEFAULT_MODEL = os.path.expanduser("~/.cache/gaze/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
DEFAULT_LLAMA = "/work/llnative/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin"

# ggml type code -> (name, elements per block, bytes per block)
GGML_TYPES = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
              6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 10: ("Q2_K", 256, 84),
              11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
              14: ("Q6_K", 256, 210), 30: ("BF16", 1, 2)}


def gguf_tensors(path):
    """[(name, type code, dims)] from a GGUF header (v2/v3, little-endian)."""
    with open(path, "rb") as f:
        data = f.read(16 << 20)   # the header of a small model fits
    off = 0

    def take(fmt):
        nonlocal off
        v = struct.unpack_from("<" + fmt, data, off)
        off += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal off
        n = take("Q")
        s = data[off:off + n].decode("utf-8", "replace")
        off += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    magic, version = take("4s"), take("I")
    if magic != b"GGUF" or version not in (2, 3):
        raise SystemExit(f"{path}: not a GGUF v2/v3 file")
    n_tensors, n_kv = take("Q"), take("Q")
    for _ in range(n_kv):
        string()
        value(take("I"))
    out = []
    for _ in range(n_tensors):
        name = string()
        nd = take("I")
        dims = [take("Q") for _ in range(nd)]
        t = take("I")
        take("Q")
        out.append((name, t, dims))
    return out


def weight_bytes(path):
    """(bytes read per generated token, {type name: bytes}) of the 2-D weights."""
    total, by_type = 0, {}
    for name, t, dims in gguf_tensors(path):
        if len(dims) < 2:
            continue
        tn, blck, bs = GGML_TYPES.get(t, (f"type{t}", 1, 0))
        n = 1
        for d in dims:
            n *= d
        nb = n // blck * bs
        total += nb
        by_type[tn] = by_type.get(tn, 0) + nb
    return total, by_type


def run(cmd, env):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr[-4000:])
        raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}")
    return r.stdout


def llama_bench(exe, model, threads, args, env):
    out = run([exe, "-m", model, "-t", str(threads), "-r", "1", "-o", "json"] + args, env)
    rec = json.loads(out)
    return rec[0]["avg_ts"], rec[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL, help="source GGUF (requantised from)")
    ap.add_argument("--llama-bin", default=DEFAULT_LLAMA, help="folder with llama-quantize and llama-bench")
    ap.add_argument("--build", default="build", help="gaze build folder (bench/bench_llama, bench/bench_membw)")
    ap.add_argument("--formats", default=DEFAULT_FORMATS)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "gaze-llama-formats"),
                    help="where the requantised files go (reused when present)")
    ap.add_argument("--json", help="also write every measurement to this file")
    ap.add_argument("--capture", action="store_true",
                    help="gaze also runs with full capture (every layer and head): capture / capture-off time")
    args = ap.parse_args()

    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)   # the default policy on both sides
    quantize = os.path.join(args.llama_bin, "llama-quantize")
    lbench = os.path.join(args.llama_bin, "llama-bench")
    gbench = os.path.join(args.build, "bench", "bench_llama")
    membw = os.path.join(args.build, "bench", "bench_membw")
    for exe in (quantize, lbench, gbench, membw):
        if not os.access(exe, os.X_OK):
            raise SystemExit(f"missing executable {exe}")
    threads = [int(t) for t in args.threads.split(",")]
    # gaze: the OpenMP team of the few regions that take no thread count (RoPE) sized as -t too
    genv = {nt: dict(env, OMP_NUM_THREADS=str(nt), GAZE_THREADS=str(nt)) for nt in threads}
    formats = args.formats.split(",")
    os.makedirs(args.workdir, exist_ok=True)

    # the gaze prompt: P tokens exactly (" the" is one token in SmolLM2's BPE; checked below)
    prompt_file = os.path.join(args.workdir, f"prompt{args.prompt}.txt")
    with open(prompt_file, "w") as f:
        f.write("the" + " the" * (args.prompt - 1))

    bw = json.loads(run([membw, "1024", str(max(threads)), "3", "--json"], env))
    bw = {r["n"]: r for r in bw["threads"]}
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at start")
    for n, r in bw.items():
        print(f"  bench_membw {n} thread(s): read {r['read_gbs']:.1f} GB/s, copy {r['copy_gbs']:.1f} GB/s")

    files = {}
    for fmt in formats:
        stem = os.path.basename(args.model).split(".")[0]
        dst = os.path.join(args.workdir, f"{stem}.{fmt}.gguf")
        if not os.path.exists(dst):
            run([quantize, "--allow-requantize", args.model, dst, fmt], env)
        files[fmt] = dst

    results = []
    for fmt in formats:
        path = files[fmt]
        wb, by_type = weight_bytes(path)
        types = ", ".join(f"{t} {100 * b / wb:.0f}%" for t, b in sorted(by_type.items(), key=lambda kv: -kv[1]))
        for nt in threads:
            best = {"l_pp": 0.0, "l_tg": 0.0, "g_pp": 0.0, "g_tg": 0.0, "c_pp": 0.0, "c_tg": 0.0}
            for _ in range(args.reps):
                pp, _ = llama_bench(lbench, path, nt, ["-p", str(args.prompt), "-n", "0"], env)
                tg, _ = llama_bench(lbench, path, nt, ["-p", "0", "-n", str(args.gen), "-d", str(args.prompt)], env)
                g = json.loads(run([gbench, path, prompt_file, "--gen", str(args.gen), "--reps", "1",
                                    "--threads", str(nt), "--json"] + ([] if args.capture else ["--no-capture"]),
                                   genv[nt]))
                if g["prompt_tokens"] != args.prompt or g["gen_tokens"] != args.gen:
                    print(f"warning: gaze ran {g['prompt_tokens']} prompt / {g['gen_tokens']} generated tokens",
                          file=sys.stderr)
                best["l_pp"] = max(best["l_pp"], pp)
                best["l_tg"] = max(best["l_tg"], tg)
                best["g_pp"] = max(best["g_pp"], g["prompt_tokens"] / g["pp_off_s"])
                best["g_tg"] = max(best["g_tg"], g["gen_tokens"] / g["tg_off_s"])
                if args.capture:
                    best["c_pp"] = max(best["c_pp"], g["prompt_tokens"] / g["pp_cap_s"])
                    best["c_tg"] = max(best["c_tg"], g["gen_tokens"] / g["tg_cap_s"])
            rec = dict(format=fmt, threads=nt, weight_bytes=wb, types=types, **best,
                       read_gbs=bw[nt]["read_gbs"], copy_gbs=bw[nt]["copy_gbs"])
            results.append(rec)
            print(f"  {fmt} {nt}T: llama.cpp pp {best['l_pp']:.1f} tg {best['l_tg']:.1f} | "
                  f"gaze pp {best['g_pp']:.1f} tg {best['g_tg']:.1f} tok/s" +
                  (f" | gaze full capture pp {best['c_pp']:.1f} tg {best['c_tg']:.1f}" if args.capture else ""),
                  flush=True)

    print(f"\nbest of {args.reps}, prompt {args.prompt} tokens, generation {args.gen} tokens after it; "
          f"load average {os.getloadavg()[0]:.2f} at the end\n")
    print("| format | weights (by bytes) | MB/tok | threads | llama.cpp pp tok/s | gaze pp | gaze/llama.cpp | "
          "llama.cpp tg tok/s | gaze tg | gaze/llama.cpp | llama.cpp GB/s | gaze GB/s | read / copy GB/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        mb = r["weight_bytes"] / 1e6
        print(f"| {r['format']} | {r['types']} | {mb:.1f} | {r['threads']} | {r['l_pp']:.1f} | {r['g_pp']:.1f} | "
              f"{r['g_pp'] / r['l_pp']:.2f}x | {r['l_tg']:.1f} | {r['g_tg']:.1f} | {r['g_tg'] / r['l_tg']:.2f}x | "
              f"{mb * r['l_tg'] / 1e3:.1f} | {mb * r['g_tg'] / 1e3:.1f} | {r['read_gbs']:.1f} / {r['copy_gbs']:.1f} |")
    if args.capture:
        print("\n| format | threads | gaze pp tok/s off / full capture | capture time ratio | "
              "gaze tg tok/s off / full capture | capture time ratio |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in results:
            print(f"| {r['format']} | {r['threads']} | {r['g_pp']:.1f} / {r['c_pp']:.1f} | {r['g_pp'] / r['c_pp']:.2f}x | "
                  f"{r['g_tg']:.1f} / {r['c_tg']:.1f} | {r['g_tg'] / r['c_tg']:.2f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"membw": bw, "results": results}, f, indent=1)
    slow = [r for r in results if r["g_tg"] < r["l_tg"] or r["g_pp"] < r["l_pp"]]
    print(f"\n{len(results) - len(slow)} of {len(results)} rows: gaze >= llama.cpp on both prompt and generation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
