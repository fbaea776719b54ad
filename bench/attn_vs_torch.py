#!/usr/bin/env python3
"""gaze's fused f32 attention against PyTorch CPU scaled_dot_product_attention, interleaved
(issue 17): for each of ROUNDS rounds and each shape, one `gaze bench attention FLAGS --threads
N --repeat R --no-ref --json` run (its median of R) and then PyTorch on the same shape in this
process (median of R, after a warm-up), so load on a shared machine falls on both sides alike.
Prints a Markdown table of the best (lowest) median per side over the rounds and the ratio
torch / gaze (> 1: gaze faster). Same inputs' shape, dtype f32, same thread count.
    /work/venv-peers/bin/python bench/attn_vs_torch.py [--rounds 5] [--threads 2] [--quick]
Env GAZE_BIN (default build/bin/gaze)."""
import argparse, json, os, statistics, subprocess, sys, time
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--quick", action="store_true", help="T <= 2048 only")
ap.add_argument("--only", default="", help="substring filter on the flags")
ap.add_argument("--decode", action="store_true", help="add the GQA decode rows")
a = ap.parse_args()
gaze = os.environ.get("GAZE_BIN", "build/bin/gaze")
torch.set_num_threads(a.threads)

shapes = []
for d in (64, 128):
    for T in ((512, 2048) if a.quick else (512, 2048, 8192)):
        for causal in (False, True):
            shapes.append(dict(H=8, Hkv=8, Tq=T, Tk=T, d=d, causal=causal))
if a.decode:
    for Tk in (4096, 32768):
        shapes.append(dict(H=32, Hkv=8, Tq=1, Tk=Tk, d=128, causal=True))

def flags(s):
    f = f"--heads {s['H']} --kv-heads {s['Hkv']} --seq {s['Tq']} --kv-seq {s['Tk']} --dim {s['d']}"
    return f + (" --causal" if s["causal"] else "")

def reps(s):
    work = s["H"] * s["Tq"] * s["Tk"] * s["d"]
    return 1 if work > 2e10 else 3 if work > 2e9 else 5 if work > 1e8 else 20

shapes = [s for s in shapes if a.only in flags(s)]

def run_gaze(s):
    out = subprocess.run([gaze, "bench", "attention", *flags(s).split(), "--threads", str(a.threads),
                          "--repeat", str(reps(s)), "--no-ref", "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["ms"]

def run_torch(s):
    g = torch.Generator().manual_seed(42)
    H, Hkv, Tq, Tk, d = s["H"], s["Hkv"], s["Tq"], s["Tk"], s["d"]
    q = torch.rand(1, H, Tq, d, generator=g) * 2 - 1
    k = torch.rand(1, Hkv, Tk, d, generator=g) * 2 - 1
    v = torch.rand(1, Hkv, Tk, d, generator=g) * 2 - 1
    if Hkv != H:   # torch 2.5's CPU SDPA takes GQA as repeated KV heads
        k = k.repeat_interleave(H // Hkv, dim=1)
        v = v.repeat_interleave(H // Hkv, dim=1)
    mask, causal = None, s["causal"]
    if causal and Tk != Tq:   # bottom-right causal alignment (gaze's q_offset)
        mask = torch.arange(Tk).unsqueeze(0) <= torch.arange(Tq).unsqueeze(1) + (Tk - Tq)
        causal = False
    def once():
        with torch.no_grad():
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
    once()
    ts = []
    for _ in range(reps(s)):
        t0 = time.perf_counter(); once(); ts.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(ts)

best = {}
for r in range(a.rounds):
    for s in shapes:
        key = flags(s)
        g, t = run_gaze(s), run_torch(s)
        bg, bt = best.get(key, (float("inf"), float("inf")))
        best[key] = (min(bg, g), min(bt, t))
        print(f"round {r} {key}: gaze {g:.2f} ms torch {t:.2f} ms", file=sys.stderr, flush=True)

with open("/proc/loadavg") as f:
    load = " ".join(f.read().split()[:3])
print(f"Threads {a.threads}, {a.rounds} interleaved rounds, best of the per-round medians; torch {torch.__version__}; "
      f"load after the run {load}.")
print()
print("| shape | gaze f32 ms | GFLOP/s | torch f32 ms | GFLOP/s | gaze / torch speed |")
print("|---|---|---|---|---|---|")
for s in shapes:
    key = flags(s)
    g, t = best[key]
    fl = 4.0 * s["H"] * s["Tq"] * s["Tk"] * s["d"] / (2 if s["causal"] and s["Tq"] > 1 else 1)
    print(f"| `{key}` | {g:.2f} | {fl / g / 1e6:.1f} | {t:.2f} | {fl / t / 1e6:.1f} | {t / g:.2f}x |")
