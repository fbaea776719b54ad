"""The Ray engine of :func:`gaze.corpus_stats`: documents stream from the driver in batches to Ray
actors (each loads the model once and runs the C engine), each batch comes back as partial
statistics plus the ids it covered, and the driver merges every batch exactly once with the
library's exact merge.

Why batches with ids and no state in the actors: an actor that dies (killed, out of memory, its
node lost) takes nothing with it but the batches it was running; Ray restarts it, those batches
fail in the driver and are sent again, and a batch already merged is never merged twice (its id
is recorded), so no document is lost or counted twice, whatever the timing of the failure.
"""
from __future__ import annotations

import collections
import os
from typing import Any, Callable, Optional

from . import _core, _docs


class _Worker:
    """One Ray actor: a loaded model; each call runs one batch into fresh statistics."""

    def __init__(self, model: str, exact: bool, opts: dict, threads: int) -> None:
        from ._model import Model
        self.model = Model(model, exact=exact)
        self.opts = opts
        self.threads = threads

    def run(self, batch: int, ids: list, texts: list) -> dict:
        import ray
        c = _core.Corpus(self.model._c, self.opts["max_len"], self.opts["error"], self.opts["exclude_bos"],
                         self.opts["exclude_current"], self.threads)
        added, skipped = _docs.add_documents(c, ids, texts)
        return {"batch": batch, "added": added, "skipped": skipped, "stats": c.stats().state(), "pid": os.getpid(),
                "node": ray.get_runtime_context().get_node_id()}


def ray_corpus_stats(model: Any, source: Any, *, text_field: str, threads: int, batch_size: int,
                     workers: Optional[int], address: Optional[str], on_batch: Optional[Callable[[dict], None]],
                     max_retries: int, **opts: Any):
    try:
        import ray
        from ray.exceptions import RayActorError, WorkerCrashedError
    except ImportError as e:
        raise ImportError("gaze.corpus(engine=\"ray\") needs Ray: pip install ray") from e
    from ._model import Model
    if batch_size < 1:
        raise _core.InvalidArgumentError(f"corpus: batch_size {batch_size}, expected >= 1")
    if isinstance(model, Model):   # the actors load it again from its path, with its exact switch
        path, exact = model.info["path"], model.exact
    else:
        path, exact = os.fspath(model), False
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        n = workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
        Actor = ray.remote(num_cpus=threads, max_restarts=max_retries + 1, max_task_retries=0)(_Worker)
        # one actor per CPU slot, spread over the nodes
        actors = [Actor.options(scheduling_strategy="SPREAD").remote(path, exact, opts, threads) for _ in range(n)]
        report = _docs.new_report("ray", batch_size=batch_size, workers=n)
        acc = None
        merged: set[int] = set()
        pending: dict[Any, tuple] = {}         # ObjectRef -> (batch, ids, texts, records, tries)
        retry: collections.deque = collections.deque()
        load = [0] * n                         # batches in flight per actor
        source_batches = _docs.batches(source, batch_size, text_field=text_field)
        exhausted = False

        def submit(job: tuple) -> None:
            a = min(range(n), key=lambda k: (load[k], (job[0] + job[4]) % n))   # a retry goes elsewhere
            load[a] += 1
            pending[actors[a].run.remote(job[0], job[1], job[2])] = (*job, a)

        while True:
            # two batches in flight per actor: one running, one queued behind it
            while len(pending) < 2 * n and (retry or not exhausted):
                if retry:
                    submit(retry.popleft())
                    continue
                nxt = next(source_batches, None)
                if nxt is None:
                    exhausted = True
                    break
                b, ids, texts, records = nxt
                if not ids:                    # only blank records: nothing to run
                    _docs.account(report, [], [], [], records)
                    continue
                submit((b, ids, texts, records, 0))
            if not pending:
                break
            ready, _ = ray.wait(list(pending), num_returns=1)
            b, ids, texts, records, tries, a = pending.pop(ready[0])
            load[a] -= 1
            try:
                res = ray.get(ready[0])
            except (RayActorError, WorkerCrashedError) as e:
                if tries >= max_retries:
                    raise RuntimeError(f"corpus: batch {b} (documents {ids[0]}..{ids[-1]}) failed {tries + 1} times; "
                                       f"last: {e}") from e
                report["retried_batches"] += 1
                retry.append((b, ids, texts, records, tries + 1))
                continue
            if b in merged:                    # cannot happen with one result per submission; never merged twice
                continue
            _docs.account(report, ids, res["added"], [tuple(s) for s in res["skipped"]], records)
            part = _core.Stats(res["stats"])
            if acc is None:
                acc = part
            else:
                acc.merge(part)
            merged.add(b)
            if on_batch is not None:
                on_batch({"batch": b, "documents": len(ids), "pid": res["pid"], "node": res["node"],
                          "merged": len(merged), "retried": report["retried_batches"]})
        report["nodes"] = len({n["NodeID"] for n in ray.nodes() if n.get("Alive")})
        for a in actors:
            ray.kill(a)
    finally:
        if started:
            ray.shutdown()
    if acc is None:
        raise _core.InvalidArgumentError(f"corpus: no documents in {_docs.describe(source)}")
    from .analysis import CorpusStats
    return _docs.finish(CorpusStats(acc), report, source)
