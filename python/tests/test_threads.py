"""The GIL is released during runs: other threads go on, and several threads may run one model.
Results of concurrent runs equal a sequential run's bit for bit."""
import threading
import time

import numpy as np
import pytest

import gaze

TEXTS = ["The cat sat on the mat because it was tired.", "A man plays guitar on the street at night."]


def run_concurrently(model, texts, rounds=4, **kw):
    results = [[None] * len(texts) for _ in range(rounds)]
    errors = []
    barrier = threading.Barrier(len(texts))

    def work(i):
        try:
            for r in range(rounds):
                barrier.wait()
                results[r][i] = model.run(texts[i], **kw)
        except Exception as e:   # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def assert_same_runs(seq, runs):
    for r in runs:
        assert r.tokens == seq.tokens
        for layer in seq.layers:
            assert np.array_equal(r.attention(layer), seq.attention(layer)), layer
            assert np.array_equal(r.hidden(layer), seq.hidden(layer)), layer


def test_gil_released(minilm):
    text = " ".join(["The quick brown fox jumps over the lazy dog."] * 40)
    minilm.run(text, capture="all")   # warm (buffers sized)
    done = threading.Event()
    box = {}

    def work():
        box["run"] = minilm.run(text, capture="all")
        done.set()

    ticks = []
    t = threading.Thread(target=work)
    t.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    c = box["run"].c_seconds
    assert c > 0.02, c
    gaps = np.diff(ticks) if len(ticks) > 1 else np.array([c])
    # with the GIL held for the whole C call, this thread would stall for c seconds
    assert len(ticks) > 3 and gaps.max() < 0.5 * c, (gaps.max(), c)


def test_two_threads_one_decoder(smollm2):
    kw = dict(capture=("attn", "hidden"))
    seq = [smollm2.run(t, **kw) for t in TEXTS]
    for round_ in run_concurrently(smollm2, TEXTS, **kw):
        for i, r in enumerate(round_):
            assert_same_runs(seq[i], [r])


def test_two_threads_one_encoder(minilm):
    kw = dict(capture=("attn", "hidden"))
    texts = [TEXTS[0], TEXTS[0].upper().replace("CAT", "DOG")]   # same length: no buffer regrowth
    seq = [minilm.run(t, **kw) for t in texts]
    for round_ in run_concurrently(minilm, texts, rounds=8, **kw):
        for i, r in enumerate(round_):
            assert_same_runs(seq[i], [r])
