"""Python runs equal the CLI's run files bit for bit: the same bytes on disk, and gaze.load of the
CLI's file equal to model.run's arrays (float bits compared, so -inf scores and signed zeros too)."""
import numpy as np
import pytest

import gaze
from conftest import cli

PARTS = ("attention", "scores", "q", "k", "hidden")


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.view(np.uint32).tobytes() == b.view(np.uint32).tobytes()


CASES = [
    ("minilm", ["The cat sat on the mat because it was tired.", "--capture", "all"], dict(capture="all")),
    ("minilm", ["A man plays guitar.", "--pair", "Someone makes music.", "--layers", "1,4", "--heads", "0-3",
                "--capture", "attn,scores,q,k"],
     dict(pair="Someone makes music.", layers=[1, 4], heads=[0, 1, 2, 3], capture=("attn", "scores", "q", "k"))),
    ("smollm2", ["The capital of France is", "--generate", "3", "--capture", "attn,q,k,hidden"],
     dict(generate=3, capture=("attn", "q", "k", "hidden"))),
]


@pytest.mark.parametrize("name,args,kw", CASES, ids=["minilm-all", "minilm-pair-select", "smollm2-generate"])
def test_bit_for_bit(name, args, kw, tmp_path, request):
    model = request.getfixturevalue(name)
    text = args[0]
    cli_file = tmp_path / "cli.safetensors"
    cli("run", name, *args, "-o", str(cli_file), "--quiet")
    run = model.run(text, **kw)
    py_file = tmp_path / "py.safetensors"
    run.save(py_file)
    assert py_file.read_bytes() == cli_file.read_bytes()

    loaded = gaze.load(cli_file)
    assert loaded.tokens == run.tokens and loaded.layers == run.layers and loaded.heads == run.heads
    assert np.array_equal(loaded.token_ids, run.token_ids)
    n = 0
    for layer in run.layers:
        for part in run.parts(layer):
            name_ = "attention" if part == "attn" else part
            assert same_bits(getattr(loaded, name_)(layer), getattr(run, name_)(layer)), (layer, part)
            n += 1
    assert n >= 8
    if run.embedding is not None:
        assert same_bits(loaded.embedding, run.embedding)


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_plot_and_view_match_cli(minilm, tmp_path, fmt):
    text = "The cat sat on the mat because it was tired."
    f = tmp_path / "run.safetensors"
    cli("run", "minilm", text, "-o", str(f), "--quiet")
    run = gaze.load(f)
    out = tmp_path / f"cli.{fmt}"
    cli("plot", str(f), "-o", str(out), "--kind", "heatmap", "--layer", "2", "--head", "3", "--hide-special")
    fig = run.plot("heatmap", format=fmt, layer=2, head=3, hide_special=True)
    assert fig.data == out.read_bytes()
    page = tmp_path / "cli.html"
    cli("view", str(f), "-o", str(page))
    assert run.html() == page.read_text(encoding="ascii")
