"""Tensors are views of the run's own memory: no copy, kept alive by the views, read-only."""
import gc
import tracemalloc

import numpy as np
import pytest

import gaze
from gaze import _core

MEDIUM = " ".join(["The cat sat on the mat because it was tired."] * 6)   # 68 tokens
LONG = " ".join(["The quick brown fox jumps over the lazy dog near the river bank."] * 20)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_base_chain(minilm):
    run = minilm.run("The cat sat on the mat.", capture="all")
    a = run.attention(1)
    assert isinstance(a.base, memoryview)
    exporter = a.base.obj
    assert isinstance(exporter, _core.Array) and exporter.owner is run._c
    assert np.shares_memory(a, run.attention(1))
    assert not np.shares_memory(a, run.attention(2))
    assert not a.flags.writeable and not a.flags.owndata
    with pytest.raises(ValueError):
        a[0, 0, 0] = 1.0
    for arr in (run.q(0), run.k(0), run.hidden(0), run.scores(0), run.token_ids, run.offsets, run.embedding):
        assert arr.base.obj.owner is run._c


def test_views_keep_the_run_alive(minilm):
    run = minilm.run("The cat sat on the mat.")
    a = run.attention(0)
    expected = a.copy()
    core = run._c
    del run
    gc.collect()
    # more runs reuse freed memory (the library recycles run arrays): ours must stay intact
    for _ in range(3):
        minilm.run("Completely different words in another sentence here.")
    np.testing.assert_array_equal(a, expected)
    assert a.base.obj.owner is core


def test_no_copy_of_a_large_run(minilm):
    run = minilm.run(LONG, capture="all")
    T = len(run)
    assert T > 250
    gc.collect()
    nbytes = 0
    rss0 = rss_bytes()
    tracemalloc.start()
    views = []
    for layer in run.layers:
        for part in (run.attention, run.scores, run.q, run.k, run.hidden):
            v = part(layer)
            views.append(v)
            nbytes += v.nbytes
            float(v[-1].ravel()[-1])   # touch it
    traced, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = rss_bytes()
    assert nbytes > 30e6                      # 6 layers x (2 x 12 x T x T + ...) floats
    assert peak < 1e6, peak                   # Python-side allocations: headers only
    assert rss1 - rss0 < 0.05 * nbytes, (rss1 - rss0, nbytes)
    # and the analysis results are views of their result buffers, not copies
    r = gaze.rollout(run)
    assert r.base.obj.owner is not None and isinstance(r.base.obj.owner, bytearray)


def test_no_leak_across_many_runs(minilm):
    """Every object the binding makes is released: RSS stays flat over many runs, views, analyses,
    renders and raised errors (the library recycles run arrays, so a leak would show as growth)."""
    def work():
        r = minilm.run(MEDIUM, capture="all", layers=[0, -1], heads=np.array([1, 2]), threads=1)
        r.attention(-1); r.q(0); r.tokens; r.offsets; r.embedding; r._repr_html_()
        gaze.heads(r, frame=False); gaze.rollout(r); gaze.flow(r)
        r.plot(format="svg"); r.html(rollout=False)
        for bad in (lambda: r.scores(3), lambda: minilm.run("x", layers=[99])):
            with pytest.raises(gaze.GazeError):
                bad()

    for _ in range(10):
        work()
    gc.collect()
    before = rss_bytes()
    for _ in range(40):   # a leaked run would add ~0.4 MB each: 17 MB
        work()
    gc.collect()
    assert rss_bytes() - before < 2e6
