"""gaze.from_transformers against transformers itself, live (needs torch and transformers: the
`hf` marker, run by `make pytest-hf`; `make pytest` deselects it and runs test_hf_fixture.py,
which checks the same conversion on recorded transformers outputs without torch)."""
import numpy as np
import pytest

import gaze
import hf_models

pytestmark = pytest.mark.hf


@pytest.mark.parametrize("kind", hf_models.KINDS)
def test_batched_runs_equal_transformers_alone(kind, tmp_path):
    model, tok = hf_models.build(kind), hf_models.tokenizer(tmp_path)
    inputs = list(hf_models.TEXTS)
    pairs = [None, None, None, "The cat sat."] if kind == "bert" else None
    runs = gaze.from_transformers(model, tok, inputs, pairs, batch_size=3)   # a padded batch of 3, then 1
    assert len(runs) == len(inputs)
    for i, run in enumerate(runs):
        enc = dict(tok(inputs[i], pairs[i]) if pairs and pairs[i] else tok(inputs[i]))
        ref = hf_models.alone(model, enc)
        assert len(run) == len(enc["input_ids"]) and list(run.token_ids) == enc["input_ids"]
        assert run.tokens == tok.convert_ids_to_tokens(enc["input_ids"])
        assert run.layers == (0, 1) and run.causal == (kind != "bert")
        for l in range(2):
            np.testing.assert_allclose(run.attention(l), ref[l], rtol=0, atol=1e-6)
        assert run.extra["attention.source"].startswith("transformers") and "not computed by gaze" in run.extra["attention.source"]
        assert run.extra["transformers.class"] == type(model).__name__
        assert run.extra["transformers.attn_implementation"] == "eager"
        if kind == "llama":
            assert run.sizes["n_kv_heads"] == 2
    one = gaze.from_transformers(model, tok, inputs[1], layers=[-1])   # a str: one Run
    assert isinstance(one, gaze.Run) and one.layers == (1,)
    np.testing.assert_allclose(one.attention(1), runs[1].attention(1), rtol=0, atol=1e-6)


def test_padding_ignored_by_the_model_is_refused(tmp_path):
    import torch
    model, tok = hf_models.build("bert"), hf_models.tokenizer(tmp_path)
    encs = [dict(tok(t)) for t in hf_models.TEXTS[:2]]
    P = max(len(e["input_ids"]) for e in encs)
    ids = torch.tensor([e["input_ids"] + [0] * (P - len(e["input_ids"])) for e in encs])
    with torch.inference_mode():   # no attention mask: the pads get weight
        att = model(input_ids=ids, output_attentions=True).attentions
    with pytest.raises(gaze.InvalidArgumentError, match="padding"):
        gaze.hf.runs_from_batch(att, [len(e["input_ids"]) for e in encs], [e["input_ids"] for e in encs],
                                [tok.convert_ids_to_tokens(e["input_ids"]) for e in encs])



def test_minilm_through_transformers_equals_gaze(minilm):
    """The fetched MiniLM folder loaded by transformers, a padded batch with a pair: the runs match
    gaze's own forward pass (tokens exactly, attention to float32 rounding)."""
    import transformers as tr
    path = minilm.info["path"]
    model = tr.BertModel.from_pretrained(path, attn_implementation="eager").eval()
    tok = tr.AutoTokenizer.from_pretrained(path)
    texts, pairs = ["The cat sat on the mat because it was tired.", "A man plays guitar."], ["It slept.", None]
    for run, t, p in zip(gaze.from_transformers(model, tok, texts, pairs), texts, pairs):
        own = minilm.run(t, p)
        assert run.tokens == own.tokens and not run.causal and run.pair == p
        for l in own.layers:
            np.testing.assert_allclose(run.attention(l), own.attention(l), rtol=0, atol=1e-5)
