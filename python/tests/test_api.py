"""The Python API: models, runs, selections, metadata, files, display, errors as exceptions."""
import numpy as np
import pytest

import gaze

TEXT = "The cat sat on the mat because it was tired."


def test_model_info(minilm, smollm2):
    assert minilm.info["arch"] == "bert" and minilm.n_layers == 6 and minilm.n_heads == 12
    assert not minilm.causal
    assert smollm2.info["arch"] == "llama" and smollm2.causal
    assert smollm2.info["n_kv_heads"] < smollm2.n_heads   # GQA
    assert "minilm" in repr(minilm)


def test_run_encoder(minilm):
    run = minilm.run(TEXT)
    assert isinstance(run, gaze.Run)
    toks = run.tokens
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]" and "cat" in toks
    assert len(run) == len(toks) == run.token_ids.shape[0]
    assert run.token_ids.dtype == np.int32
    assert run.layers == tuple(range(6)) and run.heads == tuple(range(12))
    a = run.attention(3)
    T = len(toks)
    assert a.shape == (12, T, T) and a.dtype == np.float32
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-5)
    assert run.parts(3) == ("attn",)
    assert run.embedding.shape == (384,)
    assert run.c_seconds > 0
    assert run.text == TEXT and run.pair is None
    # only attention was captured: other parts say so, in the library's words
    with pytest.raises(gaze.InvalidArgumentError, match="scores of layer 3 was not captured"):
        run.scores(3)


def test_pair_and_selection(minilm):
    run = minilm.run("A man plays guitar.", pair="Someone makes music.", layers=[0, -1], heads=np.array([1, 3]),
                     capture=("attn", "scores", "q", "k", "hidden"))
    assert run.pair == "Someone makes music."
    assert run.layers == (0, 5) and run.heads == (1, 3)
    sid = run.sequence_ids
    assert set(sid.tolist()) == {-1, 0, 1}
    assert run.token_type_ids[sid == 1].min() == 1
    T = len(run)
    assert run.attention(-1).shape == (2, T, T)
    assert run.scores(5).shape == (2, T, T) and run.q(0).shape == (2, T, 32) and run.k(0).shape == (2, T, 32)
    assert run.hidden(0).shape == (T, 384)
    assert run.offsets.shape == (T, 2)
    # captured heads carry the same weights as a full capture
    full = minilm.run("A man plays guitar.", pair="Someone makes music.")
    np.testing.assert_array_equal(run.attention(5), full.attention(5)[[1, 3]])
    with pytest.raises(gaze.InvalidArgumentError, match="layer 2 was not captured"):
        run.attention(2)


def test_no_capture(minilm):
    run = minilm.run(TEXT, capture=None)
    assert run.layers == ()
    assert run.embedding is not None   # the pooled embedding still comes back
    run2 = minilm.run(TEXT, capture=())
    assert run2.layers == ()


def test_decoder_generate(smollm2):
    run = smollm2.run("The capital of France is", generate=4, capture=("attn", "q", "k"))
    assert run.n_generated == 4 and run.causal
    a = run.attention(0)
    T = len(run)
    assert a.shape[2] == T
    # causal: no weight above the diagonal
    rows = run.q_rows
    for r, p in enumerate(rows):
        assert not a[:, r, p + 1:].any()
    assert run.k(0).shape[1] == T


def test_exact_switch(smollm2):
    fast = smollm2.run("Hello there", capture=("attn",))
    ex = smollm2.run("Hello there", capture=("attn",), exact=True)
    assert smollm2.exact
    back = smollm2.run("Hello there", exact=False)
    assert not smollm2.exact
    assert not np.array_equal(fast.attention(0), ex.attention(0))
    np.testing.assert_array_equal(fast.attention(0), back.attention(0))
    np.testing.assert_allclose(fast.attention(0), ex.attention(0), atol=0.05)


def test_save_load_roundtrip(minilm, tmp_path):
    run = minilm.run(TEXT, capture="all")
    p = tmp_path / "r.safetensors"
    run.save(p)
    back = gaze.load(p)
    assert back.tokens == run.tokens and back.model == run.model and back.c_seconds == 0
    for layer in run.layers:
        for part in ("attention", "scores", "q", "k", "hidden"):
            np.testing.assert_array_equal(getattr(back, part)(layer), getattr(run, part)(layer))
    run.save(tmp_path / "h.safetensors", f16=True)
    h = gaze.load(tmp_path / "h.safetensors")
    np.testing.assert_allclose(h.attention(0), run.attention(0), atol=1e-3)


def test_repr_html_escapes_tokens(minilm):
    run = minilm.run('<script>alert("x")</script> & co')
    page = run._repr_html_()
    assert "<script>" not in page and "&lt;" in page and "&amp;" in page
    assert f"{len(run)} tokens" in page
    assert "gaze.Run" in repr(run)


def test_view_iframe(minilm):
    run = minilm.run("<b>bold</b> move")
    v = run.view(height=400)
    assert v.html.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in v.html
    assert v.html.isascii()
    frame = v._repr_html_()
    assert frame.startswith('<iframe srcdoc="') and 'sandbox="allow-scripts"' in frame
    # the page travels escaped inside the attribute, CSP included, and no raw quote ends it early
    inner = frame[len('<iframe srcdoc="'):frame.index('" sandbox=')]
    assert '"' not in inner and "<" not in inner
    assert "Content-Security-Policy" in inner
    assert v.info["n_maps"] == 6 * 12
    assert run.html() == v.html


def test_plot(minilm, tmp_path):
    run = minilm.run(TEXT)
    fig = run.plot("heatmap", layer=2, head=3)
    assert fig.format == "svg" and fig._repr_svg_().lstrip().startswith("<?xml") and fig._repr_png_() is None
    png = run.plot("model", format="png")
    assert png._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    p = tmp_path / "bars.pdf"
    f = run.plot("bars", p, values=gaze.rollout(run)[0], values_name="rollout")
    assert p.read_bytes()[:5] == b"%PDF-" and f.path == str(p) and f.data == p.read_bytes()
    # the same options give the same bytes as the file writer (deterministic figures)
    svg_path = tmp_path / "h.svg"
    run.plot("heatmap", svg_path, layer=2, head=3)
    assert svg_path.read_bytes() == fig.data
    with pytest.raises(gaze.InvalidArgumentError, match="kind 'pie'"):
        run.plot("pie")


def test_threads_settings():
    n = gaze.default_threads()
    assert n >= 1
    gaze.set_threads(1)
    assert gaze.default_threads() == 1
    gaze.set_threads(n)
    assert gaze.isa() in ("avx512", "avx2", "scalar")
    assert {e["name"] for e in gaze.registry()} >= {"minilm", "smollm2"}
