"""Tiny transformers models from a fixed seed (no download) and the inputs the from_transformers
tests use: BERT (an encoder, token types), GPT-2 and Llama (decoders; Llama with grouped KV
heads). Shared by test_hf.py (live, torch) and tests/reference/gen_from_transformers_fixture.py
(which records transformers' attentions for test_hf_fixture.py, run without torch)."""
WORDS = ("the cat sat on mat because it was tired a man plays guitar dogs bark at night birds sing in "
         "trees river flows to sea").split()
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + [".", ","]
# different lengths, so a batch is padded; the last is a pair for BERT
TEXTS = ["The cat sat on the mat.", "Dogs bark.", "A man plays guitar at night because it was tired, birds sing.",
         "River flows to sea."]
KINDS = ("bert", "gpt2", "llama")


def build(kind: str):
    import torch
    import transformers as tr
    torch.manual_seed(1234)
    common = dict(vocab_size=len(VOCAB), attn_implementation="eager")
    if kind == "bert":
        cfg = tr.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                            max_position_embeddings=64, initializer_range=0.2, **common)
        m = tr.BertModel(cfg)
    elif kind == "gpt2":
        cfg = tr.GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, initializer_range=0.2, **common)
        m = tr.GPT2Model(cfg)
    elif kind == "llama":
        cfg = tr.LlamaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                             intermediate_size=64, max_position_embeddings=64, initializer_range=0.2, **common)
        m = tr.LlamaModel(cfg)
    else:
        raise ValueError(kind)
    return m.eval()


def tokenizer(tmp_dir):
    """A WordPiece tokenizer over VOCAB (written to tmp_dir), used for every kind: the models only see ids."""
    import pathlib
    import transformers as tr
    p = pathlib.Path(tmp_dir) / "vocab.txt"
    p.write_text("\n".join(VOCAB) + "\n")
    return tr.BertTokenizer(str(p))


def alone(model, enc):
    """transformers' own attentions for one sequence, unpadded: a list of numpy [heads, T, T]."""
    import inspect
    import torch
    accepted = inspect.signature(model.forward).parameters
    with torch.inference_mode():
        out = model(**{k: torch.tensor([v]) for k, v in enc.items() if k in accepted}, output_attentions=True)
    return [a[0].float().numpy() for a in out.attentions]


def padded(model, encs, mask: bool = True):
    """The right-padded batch of several encodings (the keys the model takes, 0-padded), with
    the attention mask unless mask is False: what from_transformers builds."""
    import inspect
    import torch
    accepted = inspect.signature(model.forward).parameters
    P = max(len(e["input_ids"]) for e in encs)
    batch = {k: torch.tensor([list(e[k]) + [0] * (P - len(e[k])) for e in encs])
             for k in ("input_ids", "token_type_ids") if k in encs[0] and k in accepted}
    if mask:
        batch["attention_mask"] = torch.tensor([[1] * len(e["input_ids"]) + [0] * (P - len(e["input_ids"])) for e in encs])
    return batch
