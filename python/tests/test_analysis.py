"""Analysis functions agree with the CLI's commands on the same run (CLI JSON prints 9 digits)."""
import json

import numpy as np
import pytest

import gaze
from conftest import cli

TEXT = "The cat sat on the mat because it was tired."


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("analysis") / "run.safetensors"
    cli("run", "minilm", TEXT, "-o", str(p), "--quiet")
    return p


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=2e-8, atol=1e-12)


def test_heads_match_cli(run_file):
    run = gaze.load(run_file)
    df = gaze.heads(run)
    import pandas as pd
    assert isinstance(df, pd.DataFrame) and len(df) == 72
    assert list(df.columns[:3]) == ["layer", "head", "kv_head"] and df.columns[-1] == "labels"
    ref = json.loads(cli("heads", str(run_file), "--json").stdout)["heads"]
    assert [(h["layer"], h["head"]) for h in ref] == list(zip(df["layer"], df["head"]))
    for name in gaze.metric_names():
        want = [np.nan if h.get(name) is None else h[name] for h in ref]
        close(df[name], want)
    assert [",".join(h["labels"]) for h in ref] == list(df["labels"])
    # without pandas: the same table as a numpy structured array
    arr = gaze.heads(run, frame=False)
    assert isinstance(arr, np.ndarray) and arr.dtype.names == tuple(df.columns)
    np.testing.assert_array_equal(arr["entropy"], df["entropy"].to_numpy())
    assert run.head_metrics(frame=False).shape == (72,)


def test_rollout_and_flow_match_cli(run_file):
    run = gaze.load(run_file)
    R = gaze.rollout(run)
    ref = json.loads(cli("rollout", str(run_file), "--all", "--json").stdout)
    T = len(run)
    close(R, np.array(ref["matrix"]).reshape(T, T))
    Rmax = gaze.rollout(run, fusion="max", discard=0.5)
    ref = json.loads(cli("rollout", str(run_file), "--fusion", "max", "--discard", "0.5", "--json").stdout)
    close(Rmax[0], ref["values"])
    one = gaze.rollout(run, layer=2)
    np.testing.assert_allclose(one.sum(1), 1.0, rtol=1e-12)
    F = gaze.flow(run)
    ref = json.loads(cli("flow", str(run_file), "--json").stdout)
    assert ref["token"] == 0
    close(F, ref["values"])
    close(run.flow(-1), json.loads(cli("flow", str(run_file), "--token", "last", "--json").stdout)["values"])


def test_diff_matches_cli(minilm, run_file, tmp_path):
    other = tmp_path / "o.safetensors"
    cli("run", "minilm", TEXT.replace("cat", "dog"), "-o", str(other), "--quiet")
    d = gaze.diff(gaze.load(run_file), gaze.load(other))
    ref = json.loads(cli("diff", str(run_file), str(other), "--json").stdout)["heads"]
    assert d.shape == (6, 12)
    close([d[h["layer"], h["head"]] for h in ref], [h["jsd"] for h in ref])
    assert (d > 0).all()
    same = gaze.diff(gaze.load(run_file), minilm.run(TEXT))
    assert not same.any()


def test_ablate_matches_cli(minilm):
    text = "The cat sat."
    df = gaze.ablate(minilm, text, layers=[4, 5])
    ref = json.loads(cli("ablate", "minilm", text, "--layers", "4,5", "--json").stdout)["heads"]
    got = {(int(l), int(h)): e for l, h, e in zip(df["layer"], df["head"], df["effect"])}
    assert len(ref) == 24
    close([got[(h["layer"], h["head"])] for h in ref], [h["effect"] for h in ref])
    assert np.isnan(df[df["layer"] < 4]["effect"]).all()
    assert df.attrs["baseline"] == 1.0
    arr = gaze.ablate(minilm, text, layers=5, frame=False)
    assert arr.dtype.names == ("layer", "head", "effect", "baseline")


def test_corpus_matches_cli(minilm, tmp_path):
    docs = ["The cat sat on the mat.", "A man plays guitar.", "Dogs bark at night."]
    lines = tmp_path / "lines.txt"
    lines.write_text("\n".join(docs) + "\n")
    cli("corpus", "minilm", str(lines), "-o", str(tmp_path / "cli.json"), "--quiet")
    ref = json.loads((tmp_path / "cli.json").read_text())
    c = gaze.Corpus(minilm).extend(docs)
    assert c.n_docs == 3 and c.n_tokens == ref["n_tokens"]
    mean, std, count = c.arrays()
    n = np.array(ref["count"])
    np.testing.assert_array_equal(count.reshape(-1), n)
    # the file keeps raw accumulators; a mean over no document is NaN here
    want = np.where(n > 0, np.array([np.nan if v is None else v for v in ref["mean"]]), np.nan)
    np.testing.assert_array_equal(mean.reshape(-1), want)
    assert np.isnan(mean[:, :, list(gaze.metric_names()).index("bos")]).all()   # BERT has no BOS
    c.save(tmp_path / "py.json")
    saved = json.loads((tmp_path / "py.json").read_text())
    assert saved["format"] == "gaze.corpus" and saved["mean"] == ref["mean"] and saved["m2"] == ref["m2"]
    df = gaze.corpus(minilm, docs)
    assert len(df) == 72 and df.attrs["n_docs"] == 3
    np.testing.assert_array_equal(df["entropy"].to_numpy(), mean[:, :, 0].reshape(-1))


def test_induction(smollm2):
    s = gaze.induction(smollm2, seq_len=10, batch=1)
    assert s.shape == (smollm2.n_layers, smollm2.n_heads) and (s >= 0).all() and (s <= 1).all()
