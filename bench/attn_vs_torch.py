#!/usr/bin/env python3
"""gaze's fused f32 attention against PyTorch CPU scaled_dot_product_attention, interleaved
(issue 17): for each of ROUNDS rounds and each shape, one `gaze bench attention FLAGS --threads
N --repeat R --no-ref --json` run (its median of R) and then PyTorch on the same shape in this
process (median of R, after a warm-up), so load on a shared machine falls on both sides alike.
Prints a Markdown table of the best (lowest) median per side over the rounds and the ratio
torch / gaze (> 1: gaze faster). Same inputs' shape, dtype f32, same thread count.
    /work/venv-peers/bin/python bench/attn_vs_torch.py [--rounds 5] [--threads 2] [--quick]
--min: each side's fastest single call instead (steadiest under load). Env GAZE_BIN (default build/bin/gaze); GAZE_BINS="v3=/path/a,v5=/path/b" compares several
builds in the same rounds (the ratio column is the last one's)."""
import argparse, json, os, resource, statistics, subprocess, sys, time
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--quick", action="store_true", help="T <= 2048 only")
ap.add_argument("--only", default="", help="substring filter on the flags")
ap.add_argument("--decode", action="store_true", help="add the GQA decode rows")
ap.add_argument("--cpu", action="store_true",
                help="CPU time per call instead of wall (fairer on a loaded machine; use --threads 1): "
                     "gaze's from two processes (--repeat 1 and 1+R, getrusage of children), torch's by "
                     "time.process_time around R calls")
ap.add_argument("--min", action="store_true",
                help="fastest single call instead of the median (the steadiest yardstick on a loaded machine: "
                     "a call no other job interrupted): gaze's min_ms over --min-reps runs in one process, "
                     "torch's fastest of as many calls")
ap.add_argument("--min-reps", type=int, default=0, help="calls per side and round for --min (default: by shape)")
a = ap.parse_args()
bins = [b.split("=", 1) for b in os.environ["GAZE_BINS"].split(",")] if os.environ.get("GAZE_BINS") \
    else [["gaze", os.environ.get("GAZE_BIN", "build/bin/gaze")]]
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

def gaze_proc(gaze, s, rep):
    return subprocess.run([gaze, "bench", "attention", *flags(s).split(), "--threads", str(a.threads),
                           "--repeat", str(rep), "--no-ref", "--json"], check=True, capture_output=True, text=True).stdout

def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def min_reps(s):
    if a.min_reps:
        return a.min_reps
    work = s["H"] * s["Tq"] * s["Tk"] * s["d"]
    return 3 if work > 2e10 else 10 if work > 2e9 else 30 if work > 1e8 else 60

def run_gaze(gaze, s):
    if a.min:
        return json.loads(gaze_proc(gaze, s, min_reps(s)))["min_ms"]
    if not a.cpu:
        return json.loads(gaze_proc(gaze, s, reps(s)))["ms"]
    c0 = child_cpu(); gaze_proc(gaze, s, 1); c1 = child_cpu(); gaze_proc(gaze, s, 1 + reps(s)); c2 = child_cpu()
    return 1e3 * ((c2 - c1) - (c1 - c0)) / reps(s)

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
    if a.min:
        best = float("inf")
        for _ in range(min_reps(s)):
            t0 = time.perf_counter(); once(); best = min(best, time.perf_counter() - t0)
        return 1e3 * best
    if a.cpu:
        c0 = time.process_time()
        for _ in range(reps(s)):
            once()
        return 1e3 * (time.process_time() - c0) / reps(s)
    ts = []
    for _ in range(reps(s)):
        t0 = time.perf_counter(); once(); ts.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(ts)

best = {}
for r in range(a.rounds):
    for s in shapes:
        key = flags(s)
        row = best.setdefault(key, {})
        for name, path in bins:
            g = run_gaze(path, s)
            row[name] = min(row.get(name, float("inf")), g)
            print(f"round {r} {key}: {name} {g:.2f} ms", file=sys.stderr, flush=True)
        t = run_torch(s)
        row["torch"] = min(row.get("torch", float("inf")), t)
        print(f"round {r} {key}: torch {t:.2f} ms", file=sys.stderr, flush=True)

with open("/proc/loadavg") as f:
    load = " ".join(f.read().split()[:3])
print(f"Threads {a.threads}, {a.rounds} interleaved rounds, best of the per-round "
      f"{'fastest single calls (wall)' if a.min else 'CPU times per call' if a.cpu else 'medians (wall)'}; torch {torch.__version__}; "
      f"load after the run {load}.")
print()
names = [n for n, _ in bins]
print("| shape | " + " | ".join(f"{n} ms (GFLOP/s)" for n in names) + " | torch f32 ms (GFLOP/s) | "
      + " | ".join(f"{n} / torch speed" for n in names) + " |")
print("|---|" + "---|" * (2 * len(names) + 1))
for s in shapes:
    key = flags(s)
    row = best[key]
    fl = 4.0 * s["H"] * s["Tq"] * s["Tk"] * s["d"] / (2 if s["causal"] and s["Tq"] > 1 else 1)
    cells = [f"{row[n]:.2f} ({fl / row[n] / 1e6:.1f})" for n in names] + [f"{row['torch']:.2f} ({fl / row['torch'] / 1e6:.1f})"]
    cells += [f"{row['torch'] / row[n]:.2f}x" for n in names]
    print(f"| `{key}` | " + " | ".join(cells) + " |")
