"""Failures come back as GazeError subclasses carrying the library's own messages."""
import os

import pytest

import gaze
from gaze import _core


def test_hierarchy():
    assert issubclass(gaze.FormatError, gaze.GazeError) and issubclass(gaze.FormatError, ValueError)
    assert issubclass(gaze.GazeIOError, OSError)
    assert issubclass(gaze.InvalidArgumentError, ValueError)
    assert issubclass(gaze.OutOfMemoryError, MemoryError)
    assert issubclass(gaze.NetworkError, ConnectionError)
    assert issubclass(gaze.NumericError, ArithmeticError)
    assert issubclass(gaze.LimitError, gaze.GazeError)
    # one class per status of enum gaze_status
    assert set(_core.errors_by_status) == {
        "GAZE_ERR_INVALID_ARG", "GAZE_ERR_IO", "GAZE_ERR_FORMAT", "GAZE_ERR_UNSUPPORTED", "GAZE_ERR_NOMEM",
        "GAZE_ERR_LIMIT", "GAZE_ERR_NETWORK", "GAZE_ERR_NUMERIC"}


def test_missing_model_path(tmp_path):
    p = tmp_path / "nothing-here.gguf"
    with pytest.raises(gaze.GazeIOError) as e:
        gaze.Model(p)
    assert str(p) in str(e.value) and e.value.status == "GAZE_ERR_IO" and e.value.code == 2


def test_name_not_fetched(tmp_path, monkeypatch):
    monkeypatch.setenv("GAZE_HOME", str(tmp_path))
    with pytest.raises(gaze.GazeError, match="gaze fetch"):
        gaze.Model("smollm2")


def test_malformed_run_file(tmp_path):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}       ")
    with pytest.raises(gaze.FormatError) as e:
        gaze.load(p)
    assert str(p) in str(e.value) and e.value.status == "GAZE_ERR_FORMAT"


def test_not_a_run_file(tmp_path, minilm):
    # a valid safetensors file (the model's weights) that is not a run: named as such
    path = os.path.join(minilm.info["path"], "model.safetensors")
    with pytest.raises(gaze.FormatError, match="not a gaze run file"):
        gaze.load(path)


def test_bad_selection(minilm):
    with pytest.raises(gaze.InvalidArgumentError, match=r"layer 9 out of range 0\.\.5"):
        minilm.run("x", layers=[9])
    with pytest.raises(gaze.InvalidArgumentError, match="increasing order"):
        minilm.run("x", heads=[3, 1])
    with pytest.raises(gaze.InvalidArgumentError, match="unknown part 'attnn'"):
        minilm.run("x", capture=("attnn",))
    with pytest.raises(gaze.InvalidArgumentError, match="generate must be >= 0"):
        minilm.run("x", generate=-1)


def test_too_long(minilm):
    text = "word " * 600
    with pytest.raises(gaze.LimitError, match="512 positions"):
        minilm.run(text)
    run = minilm.run(text, truncate=True, capture=None)
    assert len(run) == 512
    run = minilm.run(text, max_len=64, capture=None)
    assert len(run) == 64


def test_analysis_errors(minilm):
    a = minilm.run("The cat sat.")
    b = minilm.run("The cat sat on the mat.")
    with pytest.raises(gaze.InvalidArgumentError):
        gaze.diff(a, b)   # different shapes
    with pytest.raises(gaze.InvalidArgumentError, match="fusion 'median'"):
        gaze.rollout(a, fusion="median")
    no_attn = minilm.run("The cat sat.", capture=("q",))
    with pytest.raises(gaze.InvalidArgumentError):
        gaze.heads(no_attn)


def test_save_to_missing_dir(minilm, tmp_path):
    run = minilm.run("x")
    with pytest.raises(gaze.GazeIOError, match="no-such-dir"):
        run.save(tmp_path / "no-such-dir" / "r.safetensors")
