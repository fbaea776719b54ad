#!/usr/bin/env python3
"""Golden fixtures for gaze's BERT path (tokenizer + forward pass), from HF on CPU.

Pinned peers (requirements-bert.txt): torch==2.5.1, transformers==4.46.3, tokenizers==0.20.3,
safetensors==0.4.5, numpy==2.1.3. The model is the LOCAL all-MiniLM-L6-v2 folder that
`gaze fetch minilm` makes ($GAZE_HOME/models/minilm, default ~/.cache/gaze/models/minilm);
nothing is downloaded (HF_HUB_OFFLINE=1).

    python3 -m venv /tmp/venv-bert && /tmp/venv-bert/bin/pip install -r tests/reference/requirements-bert.txt
    /tmp/venv-bert/bin/python tests/reference/gen_bert_fixtures.py [--model DIR] [--out tests/fixtures/bert]

Writes tokens.json (every case: ids, type ids, byte offsets, token strings) and one
case_NN.safetensors per forward case (attention of every layer, hidden states, sentence
embedding). The layout is documented in tests/fixtures/bert/README.md.
"""
import argparse, json, os, platform, sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np
import safetensors
import tokenizers
import torch
import transformers
from safetensors.numpy import save_file
from transformers import AutoTokenizer, BertModel

PINS = {"torch": "2.5.1", "transformers": "4.46.3", "tokenizers": "0.20.3",
        "safetensors": "0.4.5", "numpy": "2.1.3"}

FULL_ATTN_MAX_T = 48          # longer inputs keep only ATTN_ROWS query rows per layer and head
LAYER_HIDDEN_CASES = 2        # the first cases also keep every layer's hidden state

LONG = ("Transformers read a whole sentence at once. Each attention head scores every pair of "
        "tokens, turns the scores into weights with a softmax, and mixes the value vectors. "
        "Researchers look at these weights to see which words a head connects: some heads "
        "follow syntax, some attend to the previous token, and some park their attention on "
        "separator tokens when nothing else is relevant. ")

# name, text, pair
CASES = [
    ("plain", "The quick brown fox jumps over the lazy dog.", None),
    ("plain_short", "Attention is all you need.", None),
    ("punctuation_runs", "Wait... what?!? (yes) -- no!!! [ok] {fine} <tag> @user #tag $100 50% a&b ~x^2 `q` |p|", None),
    ("accents", "Café au lait, naïve façade, résumé, Ångström, São Paulo, Zoë, crème brûlée.", None),
    ("combining_marks", "e\u0301 versus \u00e9, A\u030a versus \u00c5, n\u0303o", None),
    ("cjk", "我喜欢自然语言处理。日本語のテキストも、カタカナも。", None),
    ("hangul", "한국어 문장을 토큰화합니다", None),
    ("emoji", "I love pizza 🍕🍕 and 😀 👍🏽 family 👨‍👩‍👧 🥲!", None),
    ("numbers", "In 2024, 3.14159 × 2 = 6.28318; call 555-0123 or +1 (800) 123-4567 at 10:30am.", None),
    ("long_word", "Supercalifragilistic" * 6 + " is over one hundred characters, then normal words.", None),
    ("word_100_chars", "a" * 100 + " " + "b" * 101, None),
    ("unknown_symbols", "The symbols ⍼ ꙮ 𓂀 ⌬ are rare; so is ☃.", None),
    ("mixed_case", "HeLLo WoRLD, iPhone McDonald's NASA eBay ÉCOLE", None),
    ("whitespace_control", "tabs\tand\nnewlines\r\n  many   spaces\u00a0nbsp\u200bzwsp\u0007bell\u0000nul\u2028line\u3000ideo\ufffd", None),
    ("pair", "How old are you?", "I am six years old."),
    ("pair_accents", "The cat sat on the mat.", "A feline rested on a rug, café-style!"),
    ("special_literals", "Paris is the [MASK] of France. [SEP] done [CLS][UNK]", None),
    ("empty", "", None),
    ("only_spaces", "   \t  \n ", None),
    ("greek_cyrillic", "Σίσυφος ΟΔΥΣΣΕΥΣ Привет, мир! Ελληνικά", None),
    ("turkish_german", "İstanbul ıi Straße ﬁnal ﬂoor ǅemal", None),
    ("rtl", "مرحبا بالعالم שלום עולם", None),
    ("devanagari", "नमस्ते दुनिया, हिन्दी।", None),
    ("url_code", "Visit https://example.com/a?b=c&d=e or mail me@x.org; x = f(y) + 2**3", None),
    ("subwords", "unaffable tokenization antidisestablishmentarianism counterintuitively", None),
    ("quotes_dashes", "“Smart quotes” — em dash – en dash … ellipsis «guillemets» ‘single’", None),
    ("math_symbols", "∑ x² ≤ ∞ ± √2 ½ ① ™ € £ ¥", None),
    ("pair_long", "Where is the attention?", LONG),
    ("long_200", LONG * 3, None),
]

# tokens-only cases with truncation (HF truncation=True, max_length=N, longest_first)
TRUNC_CASES = [
    ("trunc_single_64", LONG * 4, None, 64),
    ("trunc_pair_24", LONG, "How old are you? I am six years old.", 24),
    ("trunc_pair_both_16", LONG, LONG, 16),
]


def byte_offsets(text, char_offsets, seq_ids, texts):
    out = []
    for (a, b), sq in zip(char_offsets, seq_ids):
        if sq is None:
            out.append([0, 0])
            continue
        s = texts[sq]
        out.append([len(s[:a].encode("utf-8")), len(s[:b].encode("utf-8"))])
    return out


def tokenize(tok, text, pair, max_length=None):
    kw = dict(return_offsets_mapping=True)
    if max_length:
        kw.update(truncation="longest_first", max_length=max_length)
    enc = tok(text, pair, **kw) if pair is not None else tok(text, **kw)
    seq = enc.sequence_ids()
    texts = [text, pair]
    return {
        "input_ids": enc["input_ids"],
        "token_type_ids": enc["token_type_ids"],
        "offsets": byte_offsets(text, enc["offset_mapping"], seq, texts),
        "char_offsets": [list(x) for x in enc["offset_mapping"]],
        "sequence_ids": [-1 if s is None else s for s in seq],
        "tokens": tok.convert_ids_to_tokens(enc["input_ids"]),
    }


def attn_rows(T):
    if T <= FULL_ATTN_MAX_T:
        return list(range(T))
    return sorted({0, 1, 2, T // 2, T - 2, T - 1})


def main():
    ap = argparse.ArgumentParser()
    home = os.environ.get("GAZE_HOME") or os.path.expanduser("~/.cache/gaze")
    ap.add_argument("--model", default=os.path.join(home, "models", "minilm"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "bert"))
    args = ap.parse_args()
    have = {"torch": torch.__version__.split("+")[0], "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__,
            "numpy": np.__version__}
    if have != PINS:
        sys.exit(f"gen_bert_fixtures: need pinned versions {PINS}, have {have}")
    torch.set_num_threads(1)   # shared machines; results do not depend on it
    torch.manual_seed(0)

    tok = AutoTokenizer.from_pretrained(args.model)
    assert tok.is_fast
    model = BertModel.from_pretrained(args.model, attn_implementation="eager", add_pooling_layer=False)
    model.eval()
    cfg = model.config
    os.makedirs(args.out, exist_ok=True)

    cases = []
    for i, (name, text, pair) in enumerate(CASES):
        t = tokenize(tok, text, pair)
        T = len(t["input_ids"])
        fname = f"case_{i:02d}.safetensors"
        ids = torch.tensor([t["input_ids"]])
        types = torch.tensor([t["token_type_ids"]])
        mask = torch.ones_like(ids)
        with torch.no_grad():
            out = model(input_ids=ids, token_type_ids=types, attention_mask=mask,
                        output_attentions=True, output_hidden_states=True)
        last = out.last_hidden_state                              # [1, T, hidden]
        m = mask.unsqueeze(-1).to(last.dtype)                      # sentence-transformers Pooling
        pooled = (last * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
        emb = torch.nn.functional.normalize(pooled, p=2, dim=1)    # Normalize module
        rows = attn_rows(T)
        tensors = {
            "input_ids": np.array(t["input_ids"], dtype=np.int32),
            "token_type_ids": np.array(t["token_type_ids"], dtype=np.int32),
            "attn_rows": np.array(rows, dtype=np.int32),
            "last_hidden_state": last[0].numpy().astype(np.float32),
            "sentence_embedding": emb[0].numpy().astype(np.float32),
        }
        for l, a in enumerate(out.attentions):                     # each [1, heads, T, T]
            tensors[f"attention.{l}"] = np.ascontiguousarray(a[0][:, rows, :].numpy().astype(np.float32))
        if i < LAYER_HIDDEN_CASES:
            for l, h in enumerate(out.hidden_states):              # 0 = embeddings output
                tensors[f"hidden_state.{l}"] = h[0].numpy().astype(np.float32)
        elif T <= FULL_ATTN_MAX_T:
            tensors["hidden_state.0"] = out.hidden_states[0][0].numpy().astype(np.float32)
        # the texts live in tokens.json only: one has U+0000, which strict JSON readers refuse
        meta = {"name": name, "case": str(i), "has_pair": "1" if pair is not None else "0",
                "n_tokens": str(T)}
        save_file(tensors, os.path.join(args.out, fname), metadata=meta)
        t.update({"name": name, "text": text, "pair": pair, "forward": fname, "truncation": None})
        cases.append(t)
        print(f"{fname} {name}: T={T}", file=sys.stderr)

    for name, text, pair, max_len in TRUNC_CASES:
        t = tokenize(tok, text, pair, max_len)
        t.update({"name": name, "text": text, "pair": pair, "forward": None,
                  "truncation": {"max_length": max_len, "strategy": "longest_first"}})
        cases.append(t)

    doc = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gaze fetch minilm)",
        "generator": "tests/reference/gen_bert_fixtures.py",
        "versions": dict(have, python=platform.python_version()),
        "config": {"n_layers": cfg.num_hidden_layers, "n_heads": cfg.num_attention_heads,
                   "hidden": cfg.hidden_size, "full_attention_max_tokens": FULL_ATTN_MAX_T},
        "cases": cases,
    }
    with open(os.path.join(args.out, "tokens.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
