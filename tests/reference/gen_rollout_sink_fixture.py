#!/usr/bin/env python3
"""Golden fixture for tests/test_rollout_sink.c: the sink-aware rollout and attention flow
(gaze_rollout_opts.sink_aware), computed with numpy (float64) and networkx on small seeded
attention stacks whose heads put most of their weight on token 0 (the attention sink of
decoders, Xiao et al. 2024), written to tests/fixtures/analysis/rollout_sink.json.

    python3 -m venv /tmp/venv-analysis
    /tmp/venv-analysis/bin/pip install -r tests/reference/requirements-analysis.txt
    /tmp/venv-analysis/bin/python tests/reference/gen_rollout_sink_fixture.py

The variant, per captured layer: F = fuse_h A_h; for every row i >= 1, F[i, 0] = 0 and the row
divided by what is left (0 when nothing is); then the usual discard (never column 0), Â =
0.5·F + 0.5·I with rows renormalised, R = Â(L)···Â(1). Flow: the max-flow of the layered graph
with capacities Â (Abnar & Zuidema), normalised. A display variant: it ranks the tokens after
the sink, it does not claim the model ignores the sink.
"""
import json
import math
import os

import networkx as nx
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "analysis", "rollout_sink.json")
SEED = 20261206


def sink_attention(rng, L, H, T, causal):
    """[L, H, T, T] float32 rows: 0.85..0.999 on key 0, the rest Dirichlet over the other visible keys."""
    a = np.zeros((L, H, T, T))
    for l in range(L):
        for h in range(H):
            for i in range(T):
                keys = list(range(1, i + 1)) if causal else [j for j in range(1, T)]
                if not keys:
                    a[l, h, i, 0] = 1
                    continue
                s = rng.uniform(0.85, 0.999)
                a[l, h, i, 0] = s
                a[l, h, i, keys] = (1 - s) * rng.dirichlet(np.ones(len(keys)) * 0.7)
    return a.astype(np.float32)


def layer(attn_layer, causal, fusion, discard):
    x = attn_layer.astype(np.float64)
    f = {"mean": x.mean(0), "max": x.max(0), "min": x.min(0)}[fusion].copy()
    T = f.shape[0]
    for i in range(1, T):
        f[i, 0] = 0
        s = f[i].sum()
        f[i] = f[i] / s if s > 0 else 0
    if discard > 0 and T > 1:
        cand = [(f[i, j], i * T + j) for i in range(T) for j in range(1, (i + 1) if causal else T)]
        k = int(math.floor(discard * len(cand)))
        vals = np.array([c[0] for c in cand])
        idx = np.array([c[1] for c in cand])
        order = np.lexsort((idx, vals))   # by value, ties by flat index
        flat = f.reshape(-1)
        flat[idx[order[:k]]] = 0
        f = flat.reshape(T, T)
    a = 0.5 * f + 0.5 * np.eye(T)
    return a / a.sum(axis=-1, keepdims=True)


def rollout(attn, causal, fusion, discard):
    r = None
    for l in range(attn.shape[0]):
        a = layer(attn[l], causal, fusion, discard)
        r = a if r is None else a @ r
    return r


def flow(attn, causal, fusion, discard, token):
    mats = [layer(attn[l], causal, fusion, discard) for l in range(attn.shape[0])]
    L, T = len(mats), mats[0].shape[0]
    G = nx.DiGraph()
    for l in range(1, L + 1):
        for i in range(T):
            for j in range(T):
                G.add_edge((l, i), (l - 1, j), capacity=float(mats[l - 1][i, j]))
    v = np.array([nx.maximum_flow_value(G, (L, token), (0, j), flow_func=nx.algorithms.flow.edmonds_karp)
                  for j in range(T)])
    return v / v.sum()


def main():
    rng = np.random.default_rng(SEED)
    cases = []
    for name, causal, L, H, T in [("decoder", True, 8, 3, 9), ("encoder", False, 3, 2, 7)]:
        attn = sink_attention(rng, L, H, T, causal)
        c = {"name": name, "causal": causal, "L": L, "H": H, "T": T,
             "attn": [float(v) for v in attn.reshape(-1)], "rollout": {}, "flow": {}}
        for fusion in ("mean", "max", "min"):
            for discard in (0.0, 0.25):
                key = "%s,%g" % (fusion, discard)
                c["rollout"][key] = [float(v) for v in rollout(attn, causal, fusion, discard).reshape(-1)]
        tok = T - 1 if causal else 0
        c["flow"] = {"token": tok, "mean,0": [float(v) for v in flow(attn, causal, "mean", 0.0, tok)]}
        cases.append(c)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"seed": SEED, "numpy": np.__version__, "networkx": nx.__version__, "cases": cases}, f, indent=None)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
