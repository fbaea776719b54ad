#!/usr/bin/env python3
"""PyTorch CPU scaled_dot_product_attention, fastest single call (wall and process CPU time) over N
calls: the peer of bench/attn_cpu_min.c (same args: H T d causal N [threads]). /work/venv-peers has torch."""
import sys, time, torch, torch.nn.functional as F
torch.set_num_threads(int(sys.argv[6]) if len(sys.argv) > 6 else 1)
H, T, d, causal, N = map(int, sys.argv[1:6])
g = torch.Generator().manual_seed(42)
q, k, v = [(torch.rand(1, H, T, d, generator=g) * 2 - 1) for _ in range(3)]
with torch.no_grad():
    F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal))
    bw = bc = 1e30
    for _ in range(N):
        w0, c0 = time.perf_counter(), time.process_time()
        F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal))
        bw = min(bw, time.perf_counter() - w0); bc = min(bc, time.process_time() - c0)
fl = 4.0 * H * T * T * d / (2 if causal else 1)
print(f"torch H{H} T{T} d{d} c{causal}: min wall {1e3*bw:.3f} ms ({fl/bw/1e9:.1f} GF/s) min cpu {1e3*bc:.3f} ms ({fl/bc/1e9:.1f} GF/s)")
