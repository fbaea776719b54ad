#!/usr/bin/env python3
"""GGUF twins (tests/fixtures/decoders_gguf/<family>.gguf) of the tiny decoder fixtures
(tests/fixtures/decoders/<family>/model.safetensors, made by gen_decoder_fixtures.py with
transformers' own outputs in golden.safetensors), written the
way llama.cpp's convert_hf_to_gguf.py writes each family, so that tests/test_decoder_gguf.c can
run gaze's GGUF loaders (src/models/decoder_gguf.c) against the same transformers logits.

What follows the converter (llama.cpp b11739's convert_hf_to_gguf.py and gguf-py 0.17.1):
  * tensor names blk.N.attn_q / attn_k / attn_v / attn_output / attn_qkv (Phi-3, GPT-2: fused),
    attn_q_norm / attn_k_norm, attn_norm, post_attention_norm, ffn_norm, post_ffw_norm,
    ffn_gate / ffn_up (Phi-3: gate and up fused, gate first) / ffn_down, token_embd,
    position_embd (GPT-2), output_norm, output (only when not tied);
  * Gemma's norm weights stored as 1 + w (the converter adds 1), so GGUF Gemma runs a plain
    RMSNorm; GPT-2's Conv1D weights transposed to [out, in]; no Q/K permutation (only "llama"
    gets one);
  * keys <arch>.context_length, embedding_length, block_count, feed_forward_length,
    attention.head_count(_kv), attention.key_length / value_length, layer norm epsilon,
    rope.freq_base, rope.dimension_count (Phi-3's partial rotary), rope.scaling.type / factor,
    attention.sliding_window, attn_logit_softcapping / final_logit_softcapping (Gemma 2).
The vocabulary is a stand-in (tokenizer.ggml.model "gpt2": the 256 byte symbols and control
tokens up to the model's vocab size): the test feeds the fixture's token ids directly.

  /tmp/venv-gemma3/bin/python tests/reference/gen_decoder_gguf_fixtures.py   (requirements-gemma3.txt)

Gemma 2 also gets gemma2_llamacpp.safetensors, what llama.cpp computes from a file that cannot
carry query_pre_attn_scalar (see gemma2_llamacpp).
"""
import json
import os
import sys

import numpy as np
import gguf
from safetensors.numpy import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FX = os.path.join(ROOT, "tests", "fixtures", "decoders")
OUT = os.path.join(ROOT, "tests", "fixtures", "decoders_gguf")

FAMILIES = {"gemma": "gemma", "gemma2": "gemma2", "gemma3_text": "gemma3", "qwen2": "qwen2", "qwen3": "qwen3",
            "phi3": "phi3", "gpt2": "gpt2"}


def byte_symbols():
    """GPT-2's bytes_to_unicode: the 256 printable stand-ins of the bytes."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


def convert(family, arch, out_name=None, extra=None):
    folder = os.path.join(FX, family)
    cfg = json.load(open(os.path.join(folder, "config.json")))
    w = load_file(os.path.join(folder, "model.safetensors"))
    w = {k: v.astype(np.float32) for k, v in w.items()}
    gemma = arch.startswith("gemma")
    gpt2 = arch == "gpt2"
    os.makedirs(OUT, exist_ok=True)
    out = os.path.join(OUT, out_name or f"{family}.gguf")
    wr = gguf.GGUFWriter(out, arch)
    C = cfg.get("hidden_size", cfg.get("n_embd"))
    L = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    H = cfg.get("num_attention_heads", cfg.get("n_head"))
    Hkv = cfg.get("num_key_value_heads") or H
    d = cfg.get("head_dim") or C // H
    F = cfg.get("intermediate_size") or cfg.get("n_inner") or 4 * C
    V = cfg["vocab_size"]
    wr.add_uint32(f"{arch}.context_length", cfg.get("max_position_embeddings", cfg.get("n_positions")))
    wr.add_uint32(f"{arch}.embedding_length", C)
    wr.add_uint32(f"{arch}.block_count", L)
    wr.add_uint32(f"{arch}.feed_forward_length", F)
    wr.add_uint32(f"{arch}.attention.head_count", H)
    wr.add_uint32(f"{arch}.attention.head_count_kv", Hkv)
    if gpt2:
        wr.add_float32(f"{arch}.attention.layer_norm_epsilon", cfg["layer_norm_epsilon"])
    else:
        wr.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", cfg["rms_norm_eps"])
        wr.add_float32(f"{arch}.rope.freq_base", cfg.get("rope_theta", 10000.0))
        if d != C // H or gemma:
            wr.add_uint32(f"{arch}.attention.key_length", d)
            wr.add_uint32(f"{arch}.attention.value_length", d)
        wr.add_uint32(f"{arch}.rope.dimension_count", int(d * cfg.get("partial_rotary_factor", 1.0)))
        rs = cfg.get("rope_scaling")
        if rs:
            wr.add_string(f"{arch}.rope.scaling.type", rs.get("rope_type", rs.get("type")))
            wr.add_float32(f"{arch}.rope.scaling.factor", rs["factor"])
            if "original_max_position_embeddings" in rs:
                wr.add_uint32(f"{arch}.rope.scaling.original_context_length", rs["original_max_position_embeddings"])
    for k, v in (extra or {}).items():   # keys a variant adds (refusal fixtures)
        wr.add_float32(f"{arch}.{k}", v)
    if arch in ("gemma2", "gemma3"):
        wr.add_uint32(f"{arch}.attention.sliding_window", cfg["sliding_window"])
    if arch == "gemma2":
        wr.add_float32(f"{arch}.attn_logit_softcapping", cfg["attn_logit_softcapping"])
        wr.add_float32(f"{arch}.final_logit_softcapping", cfg["final_logit_softcapping"])
    toks = byte_symbols() + ["Ġt"] + [f"<extra_{i}>" for i in range(V - 257)]
    wr.add_string("tokenizer.ggml.model", "gpt2")
    wr.add_string("tokenizer.ggml.pre", "gpt2")
    wr.add_array("tokenizer.ggml.tokens", toks)
    wr.add_array("tokenizer.ggml.token_type", [1] * 257 + [3] * (V - 257))
    wr.add_array("tokenizer.ggml.merges", ["Ġ t"])
    wr.add_uint32("tokenizer.ggml.bos_token_id", 258)
    wr.add_uint32("tokenizer.ggml.eos_token_id", 259)

    def norm(x):
        return x + 1.0 if gemma else x

    def t(name, x):
        wr.add_tensor(name, np.ascontiguousarray(x, dtype=np.float32))

    if gpt2:
        p = "transformer."
        t("token_embd.weight", w[p + "wte.weight"])
        t("position_embd.weight", w[p + "wpe.weight"])
        t("output_norm.weight", w[p + "ln_f.weight"])
        t("output_norm.bias", w[p + "ln_f.bias"])
        for l in range(L):
            h = f"{p}h.{l}."
            t(f"blk.{l}.attn_norm.weight", w[h + "ln_1.weight"])
            t(f"blk.{l}.attn_norm.bias", w[h + "ln_1.bias"])
            t(f"blk.{l}.attn_qkv.weight", w[h + "attn.c_attn.weight"].T)
            t(f"blk.{l}.attn_qkv.bias", w[h + "attn.c_attn.bias"])
            t(f"blk.{l}.attn_output.weight", w[h + "attn.c_proj.weight"].T)
            t(f"blk.{l}.attn_output.bias", w[h + "attn.c_proj.bias"])
            t(f"blk.{l}.ffn_norm.weight", w[h + "ln_2.weight"])
            t(f"blk.{l}.ffn_norm.bias", w[h + "ln_2.bias"])
            t(f"blk.{l}.ffn_up.weight", w[h + "mlp.c_fc.weight"].T)
            t(f"blk.{l}.ffn_up.bias", w[h + "mlp.c_fc.bias"])
            t(f"blk.{l}.ffn_down.weight", w[h + "mlp.c_proj.weight"].T)
            t(f"blk.{l}.ffn_down.bias", w[h + "mlp.c_proj.bias"])
    else:
        t("token_embd.weight", w["model.embed_tokens.weight"])
        t("output_norm.weight", norm(w["model.norm.weight"]))
        if "lm_head.weight" in w and not cfg.get("tie_word_embeddings", gemma):
            t("output.weight", w["lm_head.weight"])
        for l in range(L):
            h = f"model.layers.{l}."
            a = h + "self_attn."
            t(f"blk.{l}.attn_norm.weight", norm(w[h + "input_layernorm.weight"]))
            if arch in ("gemma2", "gemma3"):
                t(f"blk.{l}.post_attention_norm.weight", norm(w[h + "post_attention_layernorm.weight"]))
                t(f"blk.{l}.ffn_norm.weight", norm(w[h + "pre_feedforward_layernorm.weight"]))
                t(f"blk.{l}.post_ffw_norm.weight", norm(w[h + "post_feedforward_layernorm.weight"]))
            else:
                t(f"blk.{l}.ffn_norm.weight", norm(w[h + "post_attention_layernorm.weight"]))
            if a + "q_norm.weight" in w:
                t(f"blk.{l}.attn_q_norm.weight", norm(w[a + "q_norm.weight"]))
                t(f"blk.{l}.attn_k_norm.weight", norm(w[a + "k_norm.weight"]))
            if arch == "phi3":
                t(f"blk.{l}.attn_qkv.weight", w[a + "qkv_proj.weight"])
                t(f"blk.{l}.ffn_up.weight", w[h + "mlp.gate_up_proj.weight"])
            else:
                for x in "qkv":
                    t(f"blk.{l}.attn_{x}.weight", w[a + f"{x}_proj.weight"])
                    if a + f"{x}_proj.bias" in w:
                        t(f"blk.{l}.attn_{x}.bias", w[a + f"{x}_proj.bias"])
                t(f"blk.{l}.ffn_gate.weight", w[h + "mlp.gate_proj.weight"])
                t(f"blk.{l}.ffn_up.weight", w[h + "mlp.up_proj.weight"])
            t(f"blk.{l}.attn_output.weight", w[a + "o_proj.weight"])
            t(f"blk.{l}.ffn_down.weight", w[h + "mlp.down_proj.weight"])
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    print(f"{out}: {arch}, {os.path.getsize(out)} bytes")


def gemma2_llamacpp():
    """Gemma 2's GGUF has no query_pre_attn_scalar: llama.cpp's graph scales queries by
    1/sqrt(head_dim) (1/sqrt(n_embd / n_head) for the 27B), and transformers' own GGUF loader
    (4.52) leaves Gemma2Config's default 256 (nor does it read the soft-capping keys). What a
    GGUF Gemma 2 computes in llama.cpp is therefore the fixture's model with query_pre_attn_scalar =
    head_dim: its last-position logits on the golden cases, from transformers (eager, f32), go to
    decoders_gguf/gemma2_llamacpp.safetensors. The same code with the config untouched must give
    golden.safetensors' logits back (checked), so only the scalar differs."""
    import torch
    from safetensors.numpy import save_file
    from transformers import AutoConfig, AutoModelForCausalLM
    folder = os.path.join(FX, "gemma2")
    golden = load_file(os.path.join(folder, "golden.safetensors"))

    def logits(cfg):
        model = AutoModelForCausalLM.from_pretrained(folder, config=cfg, torch_dtype=torch.float32,
                                                     attn_implementation="eager").eval()
        out = {}
        for i in range(64):
            if f"case{i}.ids" not in golden:
                break
            ids = torch.tensor([golden[f"case{i}.ids"].astype(np.int64)])
            with torch.no_grad():
                out[f"case{i}.ids"] = golden[f"case{i}.ids"]
                out[f"case{i}.logits"] = model(ids).logits[0, -1].float().numpy()
        return out

    cfg = AutoConfig.from_pretrained(folder)
    own = logits(cfg)
    worst = max(float(np.abs(own[k] - golden[k]).max()) for k in own if k.endswith("logits"))
    assert worst < 1e-4, f"gemma2: reloaded model differs from golden.safetensors by {worst}"
    cfg.query_pre_attn_scalar = cfg.head_dim
    ll = logits(cfg)
    out = os.path.join(OUT, "gemma2_llamacpp.safetensors")
    save_file({k: np.ascontiguousarray(v) for k, v in ll.items()}, out)
    diff = max(float(np.abs(ll[k] - golden[k]).max()) for k in ll if k.endswith("logits"))
    print(f"{out}: query_pre_attn_scalar {cfg.head_dim} (model's own reproduced to {worst:.2g}; "
          f"differs from it by {diff:.3g})")


def main():
    for family, arch in FAMILIES.items():
        convert(family, arch)
    # DeepSeek-style YaRN (a log multiplier on the attention factor): gaze must refuse it by name
    convert("qwen2", "qwen2", "qwen2_yarn_log_multiplier.gguf", {"rope.scaling.yarn_log_multiplier": 0.1})
    gemma2_llamacpp()


if __name__ == "__main__":
    sys.exit(main())
