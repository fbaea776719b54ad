"""gaze.hf.runs_from_batch (what gaze.from_transformers does after the forward pass: one run per
sequence of a right-padded batch, padding removed, causality read off the weights) on
transformers' own recorded attentions (tests/reference/gen_from_transformers_fixture.py: tiny
BERT, GPT-2 and Llama, torch 2.5.1, transformers 4.46.3), so it runs without torch; test_hf.py
runs the whole adapter live."""
import json
import pathlib

import numpy as np
import pytest

import gaze

DATA = np.load(pathlib.Path(__file__).with_name("data") / "from_transformers.npz")
META = json.loads(str(DATA["meta"]))


def batch(kind: str, key: str = "batched"):
    lengths = [int(n) for n in DATA[f"{kind}.lengths"]]
    ids = [list(map(int, row[:n])) for row, n in zip(DATA[f"{kind}.ids"], lengths)]
    tokens = [[META["vocab"][i] for i in r] for r in ids]
    return list(DATA[f"{kind}.{key}"]), lengths, ids, tokens


@pytest.mark.parametrize("kind", META["kinds"])
def test_runs_from_a_padded_batch_equal_each_sequence_alone(kind):
    att, lengths, ids, tokens = batch(kind)
    assert len(set(lengths)) > 1   # the batch is padded
    runs = gaze.hf.runs_from_batch(att, lengths, ids, tokens, texts=META["texts"], model="tiny-" + kind, arch=kind,
                                   metadata={"attention.source": "transformers (recorded)"})
    assert len(runs) == len(lengths)
    for b, run in enumerate(runs):
        alone = DATA[f"{kind}.alone_{b}"]
        assert len(run) == lengths[b] == alone.shape[-1] and run.tokens == tokens[b] and run.text == META["texts"][b]
        assert run.causal == (kind != "bert") and run.layers == (0, 1) and run.model == "tiny-" + kind
        for l in run.layers:
            np.testing.assert_allclose(run.attention(l), alone[l], rtol=0, atol=1e-6)
        assert run.extra["attention.source"] == "transformers (recorded)"
    last = gaze.hf.runs_from_batch(att, lengths, ids, tokens, layers=[-1])
    assert [r.layers for r in last] == [(1,)] * len(lengths)


def test_weight_on_padding_is_refused():
    att, lengths, ids, tokens = batch("bert", "nomask")
    with pytest.raises(gaze.InvalidArgumentError, match="sequence 0: weight .* on padding keys"):
        gaze.hf.runs_from_batch(att, lengths, ids, tokens)
