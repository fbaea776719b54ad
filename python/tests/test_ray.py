"""The Ray engine of gaze.corpus on a real Ray cluster: a head and a second node, one CPU each, on
127.0.0.1 inside private network and PID namespaces (scripts/ray-loopback), one worker killed
mid-job. The statistics must equal the single-process `gaze corpus` to 1e-9 and every document
be merged exactly once. Also: the corpus sources (text, JSONL, datasets.Dataset, strings) and the exact merge from
Python."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import gaze
from conftest import REPO, cli

WORDS = ("the cat dog sat on mat because it was tired a man plays guitar music loud night bark birds sing "
         "in trees river flows to sea quickly slowly under over bright dark").split()


def make_corpus(path: pathlib.Path, n: int, seed: int = 7) -> int:
    """n lines of pseudo-random sentences, every 37th line blank; returns the documents (non-blank)."""
    rng = np.random.default_rng(seed)
    lines, docs = [], 0
    for i in range(n):
        if i % 37 == 5:
            lines.append("   ")
            continue
        lines.append(" ".join(rng.choice(WORDS, size=int(rng.integers(3, 24)))).capitalize() + ".")
        docs += 1
    path.write_text("\n".join(lines) + "\n")
    return docs


def assert_same_stats(got: gaze.CorpusStats, ref: gaze.CorpusStats) -> None:
    assert got.n_docs == ref.n_docs and got.n_tokens == ref.n_tokens
    (gm, gs, gc), (rm, rs, rc) = got.arrays(), ref.arrays()
    np.testing.assert_array_equal(gc, rc)
    np.testing.assert_allclose(gm, rm, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gs, rs, rtol=1e-9, atol=1e-12)


def test_ray_two_nodes_survives_a_killed_worker(tmp_path):
    corpus = tmp_path / "corpus.txt"
    n_docs = make_corpus(corpus, 300)
    cli("corpus", "minilm", str(corpus), "--max-len", "0", "-o", str(tmp_path / "ref.json"), "--quiet")
    ref = gaze.CorpusStats.load(tmp_path / "ref.json")
    p = subprocess.run(["bash", str(REPO / "scripts" / "ray-loopback"), "--nodes", "2", "--cpus", "1", sys.executable,
                        str(pathlib.Path(__file__).with_name("ray_job.py")), "minilm", str(corpus),
                        str(tmp_path / "ray.json"), str(tmp_path / "report.json"), "--kill-after", "3"],
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-4000:]
    rep = json.loads((tmp_path / "report.json").read_text())
    # a real two-node cluster: one worker per node, both did work, one was killed mid-job
    assert rep["engine"] == "ray" and rep["nodes"] == 2 and rep["workers"] == 2 and len(rep["nodes_used"]) == 2
    assert len(rep["killed"]) == 1 and rep["retried_batches"] >= 1
    # every document merged exactly once
    ids = [i for i, line in enumerate(corpus.read_text().splitlines()) if line.strip(" \t")]
    assert rep["added"] == rep["documents"] == n_docs == len(ids) and rep["id_sum"] == sum(ids)
    assert rep["records"] == 300 and rep["skipped"] == []
    got = gaze.CorpusStats.load(tmp_path / "ray.json")
    assert_same_stats(got, ref)
    saved = json.loads((tmp_path / "ray.json").read_text())
    assert saved["complete"] and saved["n_lines"] == 300 and saved["source"] == str(corpus)


def test_sources_and_exact_merge(minilm, tmp_path):
    corpus = tmp_path / "c.txt"
    n = make_corpus(corpus, 40, seed=3)
    cli("corpus", "minilm", str(corpus), "--max-len", "0", "-o", str(tmp_path / "ref.json"), "--quiet")
    ref = gaze.CorpusStats.load(tmp_path / "ref.json")
    local = gaze.corpus_stats(minilm, corpus)
    assert local.report["added"] == n and local.report["records"] == 40
    assert_same_stats(local, ref)
    # JSONL records, CRLF line ends: the same documents
    lines = corpus.read_text().splitlines()
    (tmp_path / "c.jsonl").write_text("".join(json.dumps({"text": l, "id": i}) + "\n" if l.strip() else "\n"
                                              for i, l in enumerate(lines)))
    assert_same_stats(gaze.corpus_stats(minilm, tmp_path / "c.jsonl"), ref)
    (tmp_path / "crlf.txt").write_bytes(corpus.read_bytes().replace(b"\n", b"\r\n"))
    assert_same_stats(gaze.corpus_stats(minilm, str(tmp_path / "crlf.txt")), ref)
    # two files = their documents in turn; halves merged exactly (what the Ray driver does)
    (tmp_path / "a.txt").write_text("\n".join(lines[:17]) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(lines[17:]) + "\n")
    assert_same_stats(gaze.corpus_stats(minilm, [tmp_path / "a.txt", tmp_path / "b.txt"]), ref)
    docs = [l for l in lines if l.strip()]
    # a Hugging Face dataset, blank rows included (not documents, as blank lines)
    import datasets
    ds = datasets.Dataset.from_dict({"body": lines, "n": list(range(len(lines)))})
    st = gaze.corpus_stats(minilm, ds, text_field="body")
    assert st.report["records"] == 40 and st.report["added"] == n
    assert_same_stats(st, ref)
    assert_same_stats(gaze.corpus_stats(minilm, lines), ref)   # strings, blank ones too
    a, b = gaze.Corpus(minilm).extend(docs[:9]).stats(), gaze.Corpus(minilm).extend(docs[9:]).stats()
    b2 = gaze.CorpusStats.from_state(b.state())   # what travels between processes
    assert_same_stats(a.merge(b2), ref)
    with pytest.raises(gaze.InvalidArgumentError, match="itself"):
        b2._c.merge(b2._c)
    with pytest.raises(gaze.InvalidArgumentError, match="count"):
        gaze.CorpusStats.from_state({**b.state(), "count": b"\x00"})
    with pytest.raises(gaze.InvalidArgumentError, match="engine"):
        gaze.corpus_stats(minilm, docs, engine="spark")
