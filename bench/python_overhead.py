#!/usr/bin/env python3
"""Python overhead of gaze.Model.run over the C call it wraps.

For each input, runs MiniLM with full capture (attn, scores, q, k, hidden) N times and compares
the Python-side wall time of the whole loop (argument parsing, the C extension call, wrapping
the result, freeing the previous run) with the time spent inside gaze_model_run, which the
extension measures around the C call itself (Run.c_seconds). Overhead = total / C - 1.

usage: build/venv/bin/python bench/python_overhead.py [--runs N] [--model minilm]
(the package installed in that venv, e.g. by `make pytest`).
"""
import argparse
import statistics
import time

import gaze

INPUTS = {
    "sentence (12 tokens)": "The cat sat on the mat because it was tired.",
    "paragraph (~128 tokens)": " ".join(["The quick brown fox jumps over the lazy dog near the river bank."] * 9),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--model", default="minilm")
    args = ap.parse_args()
    model = gaze.Model(args.model)
    print(f"model {model.info['path']}, isa {gaze.isa()}, threads {gaze.default_threads()}, runs {args.runs}")
    print(f"{'input':<26} {'tokens':>6} {'C ms/run':>9} {'total ms/run':>12} {'overhead':>9} {'median overhead':>16}")
    for name, text in INPUTS.items():
        for _ in range(10):   # warm: weights, thread pool, recycled arrays
            run = model.run(text, capture="all")
        c_sum = 0.0
        per_run = []
        run = None
        t0 = time.perf_counter()
        for _ in range(args.runs):
            t = time.perf_counter()
            run = model.run(text, capture="all")   # the previous run is freed here, as in a loop
            per_run.append((time.perf_counter() - t) / run.c_seconds - 1)
            c_sum += run.c_seconds
        total = time.perf_counter() - t0
        over = total / c_sum - 1
        print(f"{name:<26} {len(run):>6} {1e3 * c_sum / args.runs:>9.3f} {1e3 * total / args.runs:>12.3f} "
              f"{100 * over:>8.2f}% {100 * statistics.median(per_run):>15.2f}%")


if __name__ == "__main__":
    main()
