#!/usr/bin/env python3
"""PyTorch CPU scaled_dot_product_attention on the shape of one `gaze bench attention` run:
the peer of bench/long_context.sh. Prints one JSON object: median ms over --repeat runs after a
warm-up, in f32 or bf16 (inputs converted once, outside the timing), same threads.
Needs torch (pinned in bench/requirements-peers.txt; /work/venv-peers has it)."""
import argparse, json, statistics, time
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--heads", type=int, default=12)
p.add_argument("--kv-heads", type=int, default=0)
p.add_argument("--seq", type=int, default=2048)
p.add_argument("--kv-seq", type=int, default=0)
p.add_argument("--dim", type=int, default=64)
p.add_argument("--causal", action="store_true")
p.add_argument("--window", type=int, default=0)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeat", type=int, default=5)
p.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
a = p.parse_args()
torch.set_num_threads(a.threads)
H, Hkv = a.heads, a.kv_heads or a.heads
Tq, Tk, d = a.seq, a.kv_seq or a.seq, a.dim
dt = torch.float32 if a.dtype == "f32" else torch.bfloat16
g = torch.Generator().manual_seed(42)
q = (torch.rand(1, H, Tq, d, generator=g) * 2 - 1).to(dt)
k = (torch.rand(1, Hkv, Tk, d, generator=g) * 2 - 1).to(dt)
v = (torch.rand(1, Hkv, Tk, d, generator=g) * 2 - 1).to(dt)
if Hkv != H:   # torch 2.5's CPU SDPA takes GQA as repeated KV heads (enable_gqa is newer)
    k = k.repeat_interleave(H // Hkv, dim=1)
    v = v.repeat_interleave(H // Hkv, dim=1)
mask, causal = None, a.causal
off = Tk - Tq
if a.window:   # queries see the `window` keys ending at themselves (as gaze's --window, causal)
    i = torch.arange(Tq).unsqueeze(1) + off
    j = torch.arange(Tk).unsqueeze(0)
    mask = (j <= i) & (j > i - a.window)
    causal = False
elif causal and off:   # bottom-right causal alignment, as gaze's q_offset
    i = torch.arange(Tq).unsqueeze(1) + off
    mask = torch.arange(Tk).unsqueeze(0) <= i
    causal = False

def once():
    with torch.no_grad():
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)

once()
ts = []
for _ in range(a.repeat):
    t0 = time.perf_counter()
    once()
    ts.append(time.perf_counter() - t0)
print(json.dumps({"peer": "torch_sdpa", "torch": torch.__version__, "dtype": a.dtype, "threads": a.threads,
                  "ms": 1e3 * statistics.median(ts), "H": H, "Hkv": Hkv, "Tq": Tq, "Tk": Tk, "d": d,
                  "causal": a.causal, "window": a.window}))
