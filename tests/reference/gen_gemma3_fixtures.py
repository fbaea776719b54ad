#!/usr/bin/env python3
"""Golden fixtures for gaze's Gemma 3 path on gemma-3-270m-q4_k_m.gguf (`gaze fetch gemma3`).

Peers (pinned in requirements-gemma3.txt; transformers 4.46.3 predates Gemma 3, and its GGUF
loading of gemma3 came with transformers 4.52 and gguf-py 0.16+):
  * transformers 4.52.4 GGUF loader, torch 2.5.1 on CPU: AutoModelForCausalLM.from_pretrained(
    folder, gguf_file=..., torch_dtype=float32, attn_implementation="eager") dequantizes every
    weight to f32 (what gaze's exact mode does); output_attentions=True gives the softmax weights
    of every layer, the 5 local (sliding window 512) : 1 global pattern included.
  * llama.cpp (libllama from the PyPI wheel llama-cpp-py-sync, loaded as in gen_bpe_fixtures.py):
    the reference for token ids, and its greedy tokens with its own quantized kernels.

Token ids. transformers 4.52.4 rebuilds Gemma 3's SentencePiece (BPE, scores = -rank) tokenizer
from the GGUF wrongly ("The capital of France is" -> 'The', '▁c', 'ap', 'it', 'al', ...: 10
tokens where llama.cpp, like the original tokenizer, gives '▁capital' and '▁France'), so
llama.cpp's ids (with the BOS that tokenizer.ggml.add_bos_token asks for) are the reference and
HF's model is fed exactly those ids. HF's tokenizer is not loaded (it also takes minutes).

For each prompt: the ids; HF's top-1 next token and its margin; 32 greedy tokens from HF
generate(do_sample=False) with every step's margin (top-1 minus top-2 logit: a small margin flags
a near-tie that f32 rounding may flip); llama.cpp's greedy tokens; and, from one HF forward over
prompt + generated tokens, the attention weights of layers 0 (local), 5 (global), 6 (local),
17 (global, last) for all 4 heads at a subset of query rows, in case_NN.safetensors. The long
prompt is longer than the 512-token window, so the local layers' rows past 512 show the window.

  python3 -m venv /tmp/venv-gemma3 && /tmp/venv-gemma3/bin/pip install -r tests/reference/requirements-gemma3.txt
  /tmp/venv-gemma3/bin/python tests/reference/gen_gemma3_fixtures.py [--gguf PATH] [--out tests/fixtures/gemma3]
"""
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_decoder_ref as ref  # noqa: E402  (first: it sets HF offline; prompts, llama.cpp, greedy, rows, case files)

import torch  # noqa: E402

DEFAULT_GGUF = os.path.join(ref.GAZE_HOME, "models", "gemma3", "gemma-3-270m-q4_k_m.gguf")
GENERATOR = "tests/reference/gen_gemma3_fixtures.py"

PINS = {"torch": "2.5.1", "transformers": "4.52.4", "tokenizers": "0.21.1", "gguf": "0.17.1",
        "numpy": "1.26.4", "safetensors": "0.4.5", "llama-cpp-py-sync": "0.11739"}

LAYERS = [0, 5, 6, 17]

# Gemma's chat turns replace SmolLM2's ChatML prompts; the long prompt crosses the 512 window.
PROMPTS = [(n, t) for n, t in ref.PROMPTS if not n.startswith("chat_") and n != "long_300"] + [
    ("chat_gemma", "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n"),
    ("chat_haiku", "<start_of_turn>user\nWrite a haiku about the sea.<end_of_turn>\n<start_of_turn>model\n"),
    ("japanese", "東京は日本の首都です。大阪は"),
    ("arabic", "القاهرة هي عاصمة مصر، وعاصمة فرنسا هي"),
]
# the prompt past the window first: it is the one that tells local from global layers
PROMPTS.insert(0, ("long_600", ref.LONG + "\n\n" + ref.LONG))


def main():
    # one thread each: on a shared, oversubscribed machine spinning thread pools cost more than
    # they give
    args, versions, sha = ref.start(DEFAULT_GGUF, os.path.join(ref.ROOT, "tests", "fixtures", "gemma3"), PINS, 1)
    model = ref.load_model(args.gguf)
    cfg = model.config
    assert cfg.num_hidden_layers == 18 and cfg.num_attention_heads == 4 and cfg.num_key_value_heads == 1
    assert cfg.sliding_window == 512 and cfg.head_dim == 256 and cfg.query_pre_attn_scalar == 256

    ll = ref.open_llamacpp(args.gguf, versions, n_ctx=2048, n_threads=1)

    cases = []
    path = os.path.join(args.out, "cases.json")

    def write_doc():   # after every case: an interrupted run keeps what it made
        doc = {
            "generator": GENERATOR,
            "gguf": os.path.basename(args.gguf), "gguf_sha256": sha,
            "versions": versions, "python": platform.python_version(),
            "reference": "transformers GGUF loader (dequantized f32, eager attention) fed llama.cpp's token "
                         "ids (BOS included); greedy = HF generate(do_sample=False, eos 1); attention from one "
                         "HF forward over prompt + generated tokens",
            "n_gen": ref.N_GEN, "layers": LAYERS,
            "config": {"n_layers": cfg.num_hidden_layers, "n_heads": cfg.num_attention_heads,
                       "n_kv_heads": cfg.num_key_value_heads, "n_embd": cfg.hidden_size, "head_dim": cfg.head_dim,
                       "rope_theta": cfg.rope_theta, "rope_local_base_freq": cfg.rope_local_base_freq,
                       "sliding_window": cfg.sliding_window, "sliding_window_pattern": cfg.sliding_window_pattern,
                       "query_pre_attn_scalar": cfg.query_pre_attn_scalar, "rms_norm_eps": cfg.rms_norm_eps},
            "cases": cases,
        }
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=1)
        os.replace(path + ".tmp", path)

    for ci, (name, text) in enumerate(PROMPTS):
        ids = ll.tokenize(text)
        T = len(ids)
        gen, margins, seq, last_fed = ref.hf_greedy(model, ids, cfg.eos_token_id, cfg.pad_token_id)
        with torch.no_grad():
            # logits of the positions from T - 1 on only (the full [n, 262144] is most of the cost)
            out = model(torch.tensor([seq[:last_fed + 1]]), output_attentions=True, logits_to_keep=last_fed + 2 - T)
        top1 = int(torch.argmax(out.logits[0, 0]))
        assert top1 == gen[0], (name, top1, gen[0])
        rows = ref.pick_rows(T, len(seq), last_fed)
        if T > 512:   # rows beyond the window, where local and global layers differ
            rows = sorted(r for r in set(rows[:8]) | {512, 513, T - 1, last_fed} if r <= last_fed)
        fname_case = ref.save_attention(args.out, ci, name, out.attentions, rows, LAYERS, GENERATOR)
        llg = ll.greedy(ids, ref.N_GEN)
        case = ref.case_record(name, text, ids, top1, gen, margins, llg, fname_case, rows, LAYERS)
        cases.append(case)
        ref.report(ci, case)
        write_doc()
    ll.close()

    long_T = next(c["n_prompt"] for c in cases if c["name"] == "long_600")
    assert long_T > 512, long_T
    write_doc()
    ref.fixtures_total(path, cases, long_T, args.out)


if __name__ == "__main__":
    sys.exit(main())
