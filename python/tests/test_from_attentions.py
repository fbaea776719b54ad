"""Runs built from attention computed elsewhere pass the run-file checks and analyse like the
original run."""
import numpy as np
import pytest

import gaze


def test_from_attentions_equals_the_original(minilm, tmp_path):
    run = minilm.run("The cat sat on the mat because it was tired.")
    built = gaze.from_attentions([run.attention(l) for l in run.layers], run.tokens, run.token_ids,
                                 model="minilm-copy", arch="bert")
    assert built.tokens == run.tokens and built.layers == run.layers and built.model == "minilm-copy"
    np.testing.assert_array_equal(built.attention(3), run.attention(3))
    np.testing.assert_array_equal(gaze.rollout(built), gaze.rollout(run))
    h1, h2 = gaze.heads(built, frame=False), gaze.heads(run, frame=False)
    np.testing.assert_array_equal(h1["entropy"], h2["entropy"])
    built.save(tmp_path / "b.safetensors")
    loaded = gaze.load(tmp_path / "b.safetensors")
    assert loaded.tokens == run.tokens
    # the file says the weights came from elsewhere
    assert "not computed by gaze" in loaded.extra["attention.source"] and run.extra == {}
    tagged = gaze.from_attentions([run.attention(0)], run.tokens, metadata={"attention.source": "mine", "k": "v"})
    assert tagged.extra == {"attention.source": "mine", "k": "v"}
    with pytest.raises(gaze.GazeError, match="gaze.model"):
        gaze.from_attentions([run.attention(0)], run.tokens, metadata={"gaze.model": "x"})
    # a subset of layers, 4-D arrays as transformers returns them
    two = gaze.from_attentions([run.attention(1)[None], run.attention(4)[None]], run.tokens, layers=[1, 4],
                               n_layers=6)
    assert two.layers == (1, 4)


def test_from_attentions_is_checked(minilm):
    run = minilm.run("The cat sat.")
    bad = run.attention(0) * 0.5          # rows sum to 0.5
    with pytest.raises(gaze.GazeError, match="sum"):
        gaze.from_attentions([bad], run.tokens)
    T = len(run)
    not_causal = np.full((2, T, T), 1.0 / T, dtype=np.float32)
    with pytest.raises(gaze.GazeError):
        gaze.from_attentions([not_causal], run.tokens, causal=True)
    with pytest.raises(gaze.InvalidArgumentError, match="expected float32"):
        gaze.from_attentions([np.ones((2, T, T + 1), np.float32)], run.tokens)


def test_from_transformers_needs_the_extra():
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"gaze\[hf\]"):
            gaze.from_transformers(None, None, "text")
    else:   # with the extra installed the import succeeds and the bad arguments fail later
        with pytest.raises(Exception):
            gaze.from_transformers(None, None, "text")
