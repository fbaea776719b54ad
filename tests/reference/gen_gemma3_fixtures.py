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
import argparse
import hashlib
import json
import os
import platform
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import gen_llama_fixtures as gl  # noqa: E402  (LlamaCpp, margin, pick_rows, the shared prompts)

GAZE_HOME = os.environ.get("GAZE_HOME", os.path.expanduser("~/.cache/gaze"))
DEFAULT_GGUF = os.path.join(GAZE_HOME, "models", "gemma3", "gemma-3-270m-q4_k_m.gguf")

PINS = {"torch": "2.5.1", "transformers": "4.52.4", "tokenizers": "0.21.1", "gguf": "0.17.1",
        "numpy": "1.26.4", "safetensors": "0.4.5", "llama-cpp-py-sync": "0.11739"}

N_GEN = 32
LAYERS = [0, 5, 6, 17]
gl.MAX_ROWS = 12

# Gemma's chat turns replace SmolLM2's ChatML prompts; the long prompt crosses the 512 window.
PROMPTS = [(n, t) for n, t in gl.PROMPTS if not n.startswith("chat_") and n != "long_300"] + [
    ("chat_gemma", "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n"),
    ("chat_haiku", "<start_of_turn>user\nWrite a haiku about the sea.<end_of_turn>\n<start_of_turn>model\n"),
    ("japanese", "東京は日本の首都です。大阪は"),
    ("arabic", "القاهرة هي عاصمة مصر، وعاصمة فرنسا هي"),
]
# the prompt past the window first: it is the one that tells local from global layers
PROMPTS.insert(0, ("long_600", gl.LONG + "\n\n" + gl.LONG))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "gemma3"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    # one thread each: on a shared, oversubscribed machine spinning thread pools cost more than
    # they give
    torch.set_num_threads(1)
    torch.manual_seed(0)

    import importlib.metadata as md
    versions = {p: md.version(p) for p in PINS}
    for p, v in PINS.items():
        if versions[p] != v:
            print(f"warning: {p} {versions[p]} installed, {v} pinned", file=sys.stderr)

    sha = hashlib.sha256(open(args.gguf, "rb").read()).hexdigest()
    folder, fname = os.path.dirname(args.gguf), os.path.basename(args.gguf)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=fname, torch_dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    cfg = model.config
    assert cfg.num_hidden_layers == 18 and cfg.num_attention_heads == 4 and cfg.num_key_value_heads == 1
    assert cfg.sliding_window == 512 and cfg.head_dim == 256 and cfg.query_pre_attn_scalar == 256

    ll = gl.LlamaCpp(args.gguf, n_ctx=2048, n_threads=1)
    from llama_cpp_py_sync import __llama_cpp_tag__
    versions["llama.cpp"] = __llama_cpp_tag__

    cases = []
    path = os.path.join(args.out, "cases.json")

    def write_doc():   # after every case: an interrupted run keeps what it made
        doc = {
            "generator": "tests/reference/gen_gemma3_fixtures.py",
            "gguf": os.path.basename(args.gguf), "gguf_sha256": sha,
            "versions": versions, "python": platform.python_version(),
            "reference": "transformers GGUF loader (dequantized f32, eager attention) fed llama.cpp's token "
                         "ids (BOS included); greedy = HF generate(do_sample=False, eos 1); attention from one "
                         "HF forward over prompt + generated tokens",
            "n_gen": N_GEN, "layers": LAYERS,
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
        x = torch.tensor([ids])
        with torch.no_grad():
            g = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=N_GEN, do_sample=False,
                               eos_token_id=cfg.eos_token_id, pad_token_id=cfg.pad_token_id,
                               output_logits=True, return_dict_in_generate=True)
        gen = g.sequences[0, T:].tolist()
        margins = [gl.margin(step[0]) for step in g.logits]
        seq = ids + gen
        last_fed = len(seq) - 1 - (1 if gen and gen[-1] == cfg.eos_token_id else 0)
        with torch.no_grad():
            # logits of the positions from T - 1 on only (the full [n, 262144] is most of the cost)
            out = model(torch.tensor([seq[:last_fed + 1]]), output_attentions=True, logits_to_keep=last_fed + 2 - T)
        top1 = int(torch.argmax(out.logits[0, 0]))
        assert top1 == gen[0], (name, top1, gen[0])
        rows = gl.pick_rows(T, len(seq), last_fed)
        if T > 512:   # rows beyond the window, where local and global layers differ
            rows = sorted(r for r in set(rows[:8]) | {512, 513, T - 1, last_fed} if r <= last_fed)
        tensors = {"rows": np.array(rows, dtype=np.int64)}
        for l in LAYERS:
            a = out.attentions[l][0].float().numpy()          # [H, n, n]
            tensors[f"attention.{l}"] = np.ascontiguousarray(a[:, rows, :])
        fname_case = f"case_{ci:02d}.safetensors"
        save_file(tensors, os.path.join(args.out, fname_case),
                  metadata={"name": name, "generator": "tests/reference/gen_gemma3_fixtures.py"})
        llg = ll.greedy(ids, N_GEN)
        case = {
            "name": name, "text": text, "ids": ids, "n_prompt": T,
            "top1": top1, "top1_margin": margins[0],
            "greedy": gen, "greedy_margins": margins, "min_margin": min(margins),
            "llamacpp_greedy": llg,
            "attention_file": fname_case, "rows": rows, "layers": LAYERS,
        }
        cases.append(case)
        agree = sum(a == b for a, b in zip(llg, gen))
        print(f"{ci:2d} {name:16s} T={T:3d} gen={len(gen):2d} top1={top1:6d} margin={margins[0]:7.3f} "
              f"min_margin={min(margins):7.3f} llama.cpp greedy agrees {agree}/{len(gen)}", flush=True)
        write_doc()
    ll.close()

    long_T = next(c["n_prompt"] for c in cases if c["name"] == "long_600")
    assert long_T > 512, long_T
    write_doc()
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"{path}: {len(cases)} cases, long prompt {long_T} tokens; fixtures total {total} bytes")


if __name__ == "__main__":
    sys.exit(main())
