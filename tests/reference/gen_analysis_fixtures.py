#!/usr/bin/env python3
"""Golden fixtures for tests/test_analysis.c: per-head metrics, TransformerLens head detectors,
the induction diagonal, rollout and attention flow, computed with numpy (float64) and networkx on
small random attention stacks generated here (seeded), written to tests/fixtures/analysis/.

    python3 -m venv /tmp/venv-analysis
    /tmp/venv-analysis/bin/pip install -r tests/reference/requirements-analysis.txt
    /tmp/venv-analysis/bin/python tests/reference/gen_analysis_fixtures.py
    # baseline timings for bench/results/analysis.md on a saved run (numpy rollout, networkx flow):
    /tmp/venv-analysis/bin/python tests/reference/gen_analysis_fixtures.py --time run.safetensors [--keys 8]

Formulas: reference/interpretability.md. The head detectors reimplement TransformerLens
transformer_lens/head_detector.py (get_*_detection_pattern, compute_head_attention_similarity_score)
in numpy without torch, line for line; the abs measure is evaluated on the whole matrix (that
file asserts lower-triangular patterns, so encoder cases extend it the obvious way).
"""
import argparse
import json
import math
import os
import struct
import time
import unicodedata

import networkx as nx
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "analysis")
SEED = 20240611

METRICS = ["entropy", "entropy_norm", "max_weight", "distance", "self", "prev", "next",
           "cls", "sep", "bos", "punct", "sink", "det_prev", "det_dup", "det_ind"]

# ---- token classes (same rules as src/analysis/metrics.c and gaze_token_is_special_text) ----


def special_text(s):
    if s in ("[CLS]", "[SEP]", "[PAD]", "[MASK]", "<s>", "</s>", "<pad>", "<mask>", "<bos>", "<eos>"):
        return True
    if len(s) >= 5 and s.startswith("<|") and s.endswith("|>"):
        return not any(c in " <>" or ord(c) < 0x20 for c in s[2:-2])
    return False


def punct_token(s):
    s = s.lstrip(" \t\n\r")
    if s.startswith("##") and len(s) > 2:
        s = s[2:]
    return len(s) > 0 and all(unicodedata.category(c).startswith("P") for c in s)


def token_classes(tokens, sequence_ids):
    special = [(sequence_ids[i] < 0) if sequence_ids is not None else special_text(t)
               for i, t in enumerate(tokens)]
    cls = [special[i] and t == "[CLS]" for i, t in enumerate(tokens)]
    sep = [special[i] and t == "[SEP]" for i, t in enumerate(tokens)]
    punct = [(not special[i]) and punct_token(t) for i, t in enumerate(tokens)]
    return np.array(special), np.array(cls), np.array(sep), np.array(punct)

# ---- TransformerLens head_detector.py, in numpy ----


def tl_previous_token_pattern(tokens):
    n = len(tokens)
    d = np.zeros((n, n))
    d[1:, :-1] = np.eye(n - 1)
    return np.tril(d)


def tl_duplicate_token_pattern(tokens):
    t = np.array(tokens)
    token_pattern = np.tile(t, (len(t), 1))
    eq_mask = np.equal(token_pattern, token_pattern.T).astype(int)
    np.fill_diagonal(eq_mask, 0)
    return np.tril(eq_mask.astype(float))


def tl_induction_pattern(tokens):
    dup = tl_duplicate_token_pattern(tokens)
    shifted = np.roll(dup, 1, axis=1)
    result = np.concatenate([np.zeros((dup.shape[0], 1)), shifted[:, 1:]], axis=1)
    return np.tril(result)


def tl_score(pattern, detection, exclude_bos, exclude_current_token, error_measure):
    p = pattern.astype(np.float64).copy()
    if error_measure == "mul":
        if exclude_bos:
            p[:, 0] = 0
        if exclude_current_token:
            np.fill_diagonal(p, 0)
        den = p.sum()
        return (p * detection).sum() / den if den > 0 else float("nan")
    abs_diff = np.abs(p - detection)
    size = len(abs_diff)
    if exclude_bos:
        abs_diff[:, 0] = 0
    if exclude_current_token:
        np.fill_diagonal(abs_diff, 0)
    return 1 - round(float(abs_diff.mean() * size), 3)

# ---- Clark et al. metrics, Gu et al. sink ----


def head_metrics(a, q_rows, T, causal, classes, token_ids, det_opts):
    special, cls, sep, punct = classes
    Tq = a.shape[0]
    acc = {m: [] for m in METRICS[:12]}
    norm = []
    for r in range(Tq):
        p = q_rows[r]
        n = min(p + 1, T) if causal else T
        row = a[r, :n].astype(np.float64)
        if not row.sum() > 0:
            continue
        s = 0.9999 * row + 0.0001 / n
        H = -(s * np.log(s)).sum()
        acc["entropy"].append(H)
        if n > 1:
            norm.append(H / math.log(n))
        acc["max_weight"].append(row.max())
        acc["distance"].append((row * np.abs(p - np.arange(n))).sum())
        acc["self"].append(row[p] if p < n else 0.0)
        acc["prev"].append(row[p - 1] if p >= 1 and p - 1 < n else 0.0)
        acc["next"].append(row[p + 1] if p + 1 < n else 0.0)
        acc["cls"].append(row[cls[:n]].sum())
        acc["sep"].append(row[sep[:n]].sum())
        acc["bos"].append(row[0])
        acc["punct"].append(row[punct[:n]].sum())
        acc["sink"].append(row[0])   # Gu et al. alpha_0: every row sees key 0
    v = {m: (float(np.mean(acc[m])) if acc[m] else float("nan")) for m in acc}
    v["entropy_norm"] = float(np.mean(norm)) if norm else float("nan")
    if causal:
        v["next"] = float("nan")
    if not cls.any():
        v["cls"] = float("nan")
    if not sep.any():
        v["sep"] = float("nan")
    if not punct.any():
        v["punct"] = float("nan")
    if not (special[0] and not cls[0]):
        v["bos"] = float("nan")
    square = Tq == T and T > 1
    pats = [tl_previous_token_pattern, tl_duplicate_token_pattern, tl_induction_pattern]
    for name, pat in zip(["det_prev", "det_dup", "det_ind"], pats):
        v[name] = tl_score(a, pat(token_ids), *det_opts) if square else float("nan")
    return [v[m] for m in METRICS]

# ---- rollout and flow ----


def fused(attn_layer, fusion):
    x = attn_layer.astype(np.float64)
    return {"mean": x.mean(0), "max": x.max(0), "min": x.min(0)}[fusion]


def rollout_layer(attn_layer, causal, fusion, discard):
    f = fused(attn_layer, fusion)
    T = f.shape[0]
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
    return a / a.sum(axis=-1, keepdims=True)   # explicit per-row sums


def rollout(attn, causal, fusion, discard):
    r = None
    for l in range(attn.shape[0]):
        a = rollout_layer(attn[l], causal, fusion, discard)
        r = a if r is None else a @ r
    return r


def layered_graph(mats):
    """Nodes (l, k); edge (l, i) -> (l-1, j) with capacity mats[l-1][i, j] (Abnar & Zuidema)."""
    L = len(mats)
    n = mats[0].shape[0]
    G = nx.DiGraph()
    for l in range(1, L + 1):
        for i in range(n):
            for j in range(n):
                G.add_edge((l, i), (l - 1, j), capacity=float(mats[l - 1][i, j]))
    return G


def flow(attn, causal, fusion, discard, token):
    mats = [rollout_layer(attn[l], causal, fusion, discard) for l in range(attn.shape[0])]
    L, T = len(mats), mats[0].shape[0]
    G = layered_graph(mats)
    v = np.array([nx.maximum_flow_value(G, (L, token), (0, j),
                                        flow_func=nx.algorithms.flow.edmonds_karp) for j in range(T)])
    return v / v.sum()

# ---- random attention stacks ----


def softmax_rows(x):
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def make_attn(rng, L, heads, T, q_rows, causal, token_ids, kinds):
    """[L, Hc, Tq, T] float32 attention; kinds[h] shapes head h (prev, bos, broad, induction...)."""
    ind = tl_induction_pattern(token_ids)
    out = np.zeros((L, len(heads), len(q_rows), T), dtype=np.float32)
    for l in range(L):
        for hi, h in enumerate(heads):
            kind = kinds[(l + h) % len(kinds)]
            x = rng.normal(size=(len(q_rows), T)) * (0.2 if kind == "broad" else 1.5)
            for r, p in enumerate(q_rows):
                if kind == "prev" and p >= 1:
                    x[r, p - 1] += 5
                if kind == "next" and p + 1 < T:
                    x[r, p + 1] += 5
                if kind == "bos":
                    x[r, 0] += 4
                if kind == "last":
                    x[r, T - 1] += 4
                if kind == "induction":
                    x[r] += 6 * ind[p]
                if causal:
                    x[r, p + 1:] = -np.inf
            out[l, hi] = softmax_rows(x).astype(np.float32)
    return out


def jsd_rows(a, b):
    """Mean over query rows of the Jensen-Shannon divergence in bits; rows zero in both skipped."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    vals = []
    for r in range(a.shape[0]):
        if not (a[r].sum() > 0 or b[r].sum() > 0):
            continue
        m = 0.5 * (a[r] + b[r])
        with np.errstate(divide="ignore", invalid="ignore"):
            ka = np.where(a[r] > 0, a[r] * np.log2(a[r] / m), 0.0).sum()
            kb = np.where(b[r] > 0, b[r] * np.log2(b[r] / m), 0.0).sum()
        vals.append(0.5 * ka + 0.5 * kb)
    return float(np.mean(vals)) if vals else 0.0


def case(rng, name, tokens, token_ids, sequence_ids, causal, n_layers, n_heads, n_kv, heads, q_rows,
         kinds, induction_S=None, flow_tokens=()):
    T = len(tokens)
    attn = make_attn(rng, n_layers, heads, T, q_rows, causal, token_ids, kinds)
    classes = token_classes(tokens, sequence_ids)
    c = {
        "name": name, "causal": causal, "n_layers": n_layers, "n_heads": n_heads,
        "n_kv_heads": n_kv, "tokens": tokens, "token_ids": token_ids,
        "sequence_ids": sequence_ids, "heads": heads, "q_rows": q_rows,
        "attn": [float(v) for v in attn.reshape(-1)],
    }
    det = {}
    for err in ("mul", "abs"):
        for eb in (0, 1):
            for ec in (0, 1):
                key = "%s,%d,%d" % (err, eb, ec)
                det[key] = [head_metrics(attn[l, h], q_rows, T, causal, classes, token_ids,
                                         (bool(eb), bool(ec), err))
                            for l in range(n_layers) for h in range(len(heads))]
    c["metrics"] = det
    if len(q_rows) == T:
        c["rollout"] = {}
        for fusion in ("mean", "max", "min"):
            for discard in (0.0, 0.5, 0.9):
                c["rollout"]["%s,%g" % (fusion, discard)] = [float(v) for v in rollout(attn, causal, fusion, discard).reshape(-1)]
        c["flow"] = []
        for fusion, discard, tok in flow_tokens:
            c["flow"].append({"fusion": fusion, "discard": discard, "token": tok,
                              "value": [float(v) for v in flow(attn, causal, fusion, discard, tok)]})
    # a second stack of the same shape for the Jensen-Shannon divergence per head
    attn_b = make_attn(rng, n_layers, heads, T, q_rows, causal, token_ids, list(reversed(kinds)))
    c["jsd"] = {"attn_b": [float(v) for v in attn_b.reshape(-1)],
                "value": [jsd_rows(attn[l, h], attn_b[l, h]) for l in range(n_layers) for h in range(len(heads))]}
    if induction_S:
        S = induction_S
        sc = []
        for l in range(n_layers):
            for h in range(len(heads)):
                sc.append(float(np.diagonal(attn[l, h].astype(np.float64), offset=1 - S).mean()))
        c["induction"] = {"S": S, "scores": sc}
    return c


def main():
    rng = np.random.default_rng(SEED)
    cases = []
    # encoder: [CLS] ... [SEP] with punctuation and a split word
    enc_tokens = ["[CLS]", "the", "cat", ",", "sat", "on", "the", "mat", "##s", ".", "[SEP]"]
    enc_ids = [101, 1996, 4937, 1010, 2938, 2006, 1996, 13523, 2015, 1012, 102]
    enc_seq = [-1, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1]
    T = len(enc_tokens)
    cases.append(case(rng, "encoder", enc_tokens, enc_ids, enc_seq, False, 3, 4, 4, [0, 1, 2, 3],
                      list(range(T)), ["prev", "bos", "broad", "last", "next"],
                      flow_tokens=[("mean", 0.0, 0), ("max", 0.5, 3)]))
    # decoder with BOS, GQA (6 query heads over 2 KV heads) and repeated tokens
    dec_tokens = ["<|im_start|>", "A", " cat", " sat", ".", " A", " cat", " sat", " on", " the", " mat", "!"]
    dec_ids = [1, 32, 2368, 3290, 30, 330, 2368, 3290, 335, 260, 2580, 17]
    T = len(dec_tokens)
    cases.append(case(rng, "decoder", dec_tokens, dec_ids, None, True, 3, 6, 2, [0, 1, 2, 3, 4, 5],
                      list(range(T)), ["prev", "bos", "broad", "induction", "random"],
                      flow_tokens=[("mean", 0.0, T - 1), ("min", 0.9, 5)]))
    # decoder without BOS, a subset of heads and rows: metrics only, detectors undefined
    sub_tokens = ["The", " cat", " sat", " on", " the", " mat", ".", " It", " purred", "."]
    sub_ids = [504, 2368, 3290, 335, 260, 2580, 30, 657, 12000, 30]
    cases.append(case(rng, "subset", sub_tokens, sub_ids, None, True, 2, 4, 4, [1, 3],
                      [0, 2, 5, 9], ["prev", "bos", "broad"]))
    # induction protocol: BOS + 5 random tokens twice
    S = 5
    r = [int(x) for x in rng.choice(np.arange(1000, 5000), size=S, replace=False)]
    ind_ids = [1] + r + r
    ind_tokens = ["<|im_start|>"] + [" w%d" % x for x in r] * 2
    cases.append(case(rng, "induction", ind_tokens, ind_ids, None, True, 2, 3, 1, [0, 1, 2],
                      list(range(len(ind_ids))), ["induction", "prev", "bos"], induction_S=S,
                      flow_tokens=[("mean", 0.0, 2 * S)]))

    # raw max-flow on random layered graphs (capacities not row-normalised)
    maxflow = []
    for L, n in ((1, 3), (2, 5), (4, 8)):
        cap = rng.random((L, n, n)) * (rng.random((L, n, n)) > 0.3)
        G = layered_graph([cap[l] for l in range(L)])
        for src, dst in ((0, n - 1), (n - 1, 0), (n // 2, n // 2)):
            val = nx.maximum_flow_value(G, (L, src), (0, dst), flow_func=nx.algorithms.flow.edmonds_karp)
            maxflow.append({"L": L, "n": n, "src": src, "dst": dst, "value": float(val),
                            "cap": [float(v) for v in cap.reshape(-1)]})

    doc = {
        "generator": "tests/reference/gen_analysis_fixtures.py (numpy %s, networkx %s), seed %d"
                     % (np.__version__, nx.__version__, SEED),
        "metrics": METRICS,
        "cases": cases,
        "maxflow": maxflow,
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "analysis.json")

    def clean(o):   # NaN -> null (JSON has no NaN)
        if isinstance(o, float):
            return None if math.isnan(o) else o
        if isinstance(o, list):
            return [clean(v) for v in o]
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        return o

    with open(path, "w") as f:
        json.dump(clean(doc), f, separators=(",", ":"))
        f.write("\n")
    print("wrote", path, os.path.getsize(path), "bytes")


def load_run_attention(path):
    """[L, H, Tq, T] float32 attention of a gaze run file (safetensors, F32 or F16) and its causal flag."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    layers = sorted((k for k in header if k.startswith("attention.")), key=lambda k: int(k.split(".")[1]))
    out = []
    for k in layers:
        t = header[k]
        b, e = t["data_offsets"]
        dt = {"F32": np.float32, "F16": np.float16}[t["dtype"]]
        out.append(np.frombuffer(data[b:e], dtype=dt).reshape(t["shape"]).astype(np.float32))
    return np.stack(out), meta.get("gaze.causal", "false") == "true"


def time_baselines(path, n_keys):
    attn, causal = load_run_attention(path)
    L, H, Tq, T = attn.shape
    assert Tq == T, "needs every query row"
    t0 = time.perf_counter()
    rollout(attn, causal, "mean", 0.0)
    t_roll = time.perf_counter() - t0
    mats = [rollout_layer(attn[l], causal, "mean", 0.0) for l in range(L)]
    G = layered_graph(mats)
    keys = list(range(0, T, max(1, T // n_keys)))[:n_keys]
    t0 = time.perf_counter()
    for j in keys:
        nx.maximum_flow_value(G, (L, 0), (0, j), flow_func=nx.algorithms.flow.edmonds_karp)
    t_flow = (time.perf_counter() - t0) / len(keys)
    print("%s: %d layers x %d heads, %d tokens" % (path, L, H, T))
    print("numpy rollout (mean fusion, float64): %.1f ms" % (1e3 * t_roll))
    print("networkx edmonds_karp max-flow, output token 0: %.1f ms per key (%d keys timed), "
          "%.1f s for all %d keys (extrapolated)" % (1e3 * t_flow, len(keys), t_flow * T, T))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", metavar="RUN", help="time the numpy/networkx baselines on a run file instead")
    ap.add_argument("--keys", type=int, default=8, help="keys timed for the flow baseline")
    args = ap.parse_args()
    if args.time:
        time_baselines(args.time, args.keys)
    else:
        main()
