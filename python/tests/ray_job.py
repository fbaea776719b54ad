"""Runs gaze.corpus_stats(engine="ray") on the cluster at RAY_ADDRESS (started by
scripts/ray-loopback) and writes the statistics and the run's report; with --kill-after N, kills
(SIGKILL) the worker that returned the N-th merged batch while it has another batch in hand, so
the driver must run that batch again. Called by test_ray.py; prints nothing on success."""
import argparse
import json
import os
import signal

import gaze

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("corpus")
ap.add_argument("out")
ap.add_argument("report")
ap.add_argument("--kill-after", type=int, default=0)
ap.add_argument("--batch-size", type=int, default=8)
args = ap.parse_args()

killed: list[dict] = []
seen: list[dict] = []


def on_batch(info: dict) -> None:
    seen.append(info)
    if args.kill_after and not killed and info["merged"] >= args.kill_after:
        os.kill(info["pid"], signal.SIGKILL)   # a real worker process of the cluster, mid-job
        killed.append(info)


st = gaze.corpus_stats(args.model, args.corpus, engine="ray", batch_size=args.batch_size, on_batch=on_batch)
st.save(args.out)
rep = dict(st.report, killed=killed, pids=sorted({i["pid"] for i in seen}), nodes_used=sorted({i["node"] for i in seen}))
with open(args.report, "w") as f:
    json.dump(rep, f)
