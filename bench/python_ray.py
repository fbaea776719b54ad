#!/usr/bin/env python3
"""Throughput of gaze.corpus(engine="ray") on a local loopback Ray cluster of 2 nodes vs 1 node
(one CPU, one worker, one kernel thread each), in documents per second, with the local engine
(this process, one thread) beside them; checks that all three give the same statistics.

The cluster runs in private network and PID namespaces (scripts/ray-loopback); the time is that
of the corpus_stats call (the workers' model loads included, the cluster's start not).

usage: build/venv/bin/python bench/python_ray.py [--lines 10000] [--model minilm] [--batch-size 32]
(the package and ray installed in that venv, e.g. by `make pytest`).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
WORDS = ("the cat dog sat on mat because it was tired a man plays guitar music loud night bark birds sing "
         "in trees river flows to sea quickly slowly under over bright dark").split()


def inner(args) -> None:
    import gaze
    events = []   # (time, worker pid, documents) of every merged batch

    def on_batch(ev: dict) -> None:
        events.append((time.perf_counter(), ev["pid"], ev["documents"]))

    t = time.perf_counter()
    st = gaze.corpus_stats(args.model, args.corpus, engine="ray", batch_size=args.batch_size, on_batch=on_batch)
    dt = time.perf_counter() - t
    st.save(args.out)
    # steady state: from the moment every worker has returned its first batch (actors started,
    # models loaded) to the last batch, the documents merged in between
    first = {}
    for tm, pid, _ in events:
        first.setdefault(pid, tm)
    t_warm = max(first.values())
    warm_docs = sum(n for tm, _, n in events if tm > t_warm)
    warm_s = events[-1][0] - t_warm
    print(json.dumps({"seconds": dt, "docs": st.n_docs, "workers": st.report["workers"], "nodes": st.report["nodes"],
                      "warm_docs": warm_docs, "warm_seconds": warm_s, "startup_seconds": t_warm - t}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=10000)
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--inner", nargs=2, metavar=("CORPUS", "OUT"))
    args = ap.parse_args()
    if args.inner:
        args.corpus, args.out = args.inner
        return inner(args)
    import gaze
    d = pathlib.Path(tempfile.mkdtemp(prefix="gaze-bench-ray."))
    rng = np.random.default_rng(11)
    corpus = d / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(WORDS, size=int(rng.integers(3, 24)))).capitalize() + "."
                                for _ in range(args.lines)) + "\n")
    rows, stats, warm = [], {}, {}
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    local = gaze.corpus_stats(args.model, corpus, threads=1)
    rows.append(("local engine, 1 process", 1, local.n_docs, time.perf_counter() - t))
    stats["local"] = local
    for nodes in (1, 2):
        out = d / f"ray{nodes}.json"
        p = subprocess.run(["bash", str(REPO / "scripts/ray-loopback"), "--nodes", str(nodes), "--cpus", "1",
                            sys.executable, __file__, "--inner", str(corpus), str(out), "--model", args.model,
                            "--batch-size", str(args.batch_size)], capture_output=True, text=True)
        if p.returncode:
            sys.exit(f"ray run on {nodes} node(s) failed:\n{p.stderr[-3000:]}")
        r = json.loads(p.stdout.strip().splitlines()[-1])
        assert r["nodes"] == nodes and r["workers"] == nodes, r
        rows.append((f"ray, {nodes} node(s) x 1 CPU", nodes, r["docs"], r["seconds"]))
        warm[nodes] = r
        stats[nodes] = gaze.CorpusStats.load(out)
    worst = 0.0
    for k in (1, 2):   # the same statistics, to rounding
        assert stats[k].n_docs == local.n_docs
        (a, _, ca), (b, _, cb) = stats[k].arrays(), local.arrays()
        assert (ca == cb).all()
        ok = ~np.isnan(b)
        worst = max(worst, float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300))))
    print(f"{args.lines} lines, {args.model}, batch {args.batch_size}; load average (1 min) before {load0:.1f}, after "
          f"{os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    print("| engine | workers | documents | seconds | docs/s |")
    print("|---|---:|---:|---:|---:|")
    for name, w, n, s in rows:
        print(f"| {name} | {w} | {n} | {s:.1f} | {n / s:.1f} |")
    print(f"2 nodes / 1 node: {rows[1][3] / rows[2][3]:.2f}x; max relative difference of the means vs local: {worst:.1e}")
    print()
    print("Steady state (from the moment every worker has returned its first batch, i.e. actors started and")
    print("models loaded, to the last batch):")
    print()
    print("| engine | start-up s (until every worker's first batch) | documents after it | seconds | docs/s |")
    print("|---|---:|---:|---:|---:|")
    for k in (1, 2):
        r = warm[k]
        print(f"| ray, {k} node(s) x 1 CPU | {r['startup_seconds']:.1f} | {r['warm_docs']} | {r['warm_seconds']:.1f} | "
              f"{r['warm_docs'] / r['warm_seconds']:.1f} |")
    print(f"2 nodes / 1 node, steady state: {(warm[2]['warm_docs'] / warm[2]['warm_seconds']) / (warm[1]['warm_docs'] / warm[1]['warm_seconds']):.2f}x")


if __name__ == "__main__":
    main()
