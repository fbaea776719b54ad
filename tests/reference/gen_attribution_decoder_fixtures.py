#!/usr/bin/env python3
"""Golden fixtures for gaze's attributions on the tiny decoders of tests/fixtures/decoders/
(plain pre-norm Llama, post-norm Gemma 2 / Gemma 3, parallel-residual GPT-NeoX): value-norm,
residual norm, ALTI, value zeroing and attention knockout, from an independent
transformers/numpy implementation (float64 for every formula).

The family's eager attention function (`eager_attention_forward` of its modeling module) is
wrapped: it records each layer's value states v [Hkv, T, d] and, when asked, zeroes token j's
value row (value zeroing) or adds -inf to the knocked-out edges of the mask (knockout). Hooks
give the attention output projection's output o_i (o_proj / dense, bias included) and, for
Gemma, the post-attention RMSNorm's output; hidden_states[l] is the layer input x.

  f_h(x_j) = v_j^{kv(h)} W_O^h                                (W_O^h: the head's input columns)
  vnorm[l,i,j] = ‖Σ_h α^h_ij f_h(x_j)‖₂
  pre-norm and parallel residual:  z_ij = Σ_h α^h_ij f_h(x_j) + δ_ij x_i,  y_i = x_i + o_i
      (the parallel block's MLP summand depends on x_i alone and is left out, as the MLP after
      a pre-norm block's attention is: ALTI decomposes the attention block)
  post-norm (Gemma 2/3):  g_i(u) = w' ⊙ u / rms_i,  rms_i = sqrt(mean(o_i²) + eps),  w' = 1 + w
      z_ij = g_i(Σ_h α^h_ij f_h(x_j)) + δ_ij x_i,  y_i = x_i + postnorm(o_i) (HF's own output)
  resln[l,i,j] = ‖z_ij‖₂;  alti[l,i,j] = max(0, ‖y_i‖₁ − ‖y_i − z_ij‖₁), rows normalised
  vzero[l,i,j] = 1 − cos(layer l output_i, the same with v_j = 0 in layer l), rows normalised
      (the whole model re-run; the layer's output taken by a hook before any final norm)
  knockout: every layer's attention weights [L, H, T, T] with the KNOCKOUT edges blocked.

Run with transformers 4.51.3 (Gemma 3), as tests/reference/gen_decoder_fixtures.py:
  PYTHONPATH=/work/h1-tf/site /work/venv-peers/bin/python tests/reference/gen_attribution_decoder_fixtures.py
(versions: tests/reference/gen_decoder_fixtures.requirements.txt)
"""
import argparse
import importlib
import json
import os

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEXT = "The cat sat on the mat."
KNOCKOUT = [(0, -1, 2), (1, -1, 1), (1, 5, 0)]   # (layer, query, key); -1 = every query
FAMILIES = {   # folder: (modeling module, layout)
    "llama": ("transformers.models.llama.modeling_llama", "pre"),
    "gemma2": ("transformers.models.gemma2.modeling_gemma2", "post"),
    "gemma3_text": ("transformers.models.gemma3.modeling_gemma3", "post"),
    "gpt_neox": ("transformers.models.gpt_neox.modeling_gpt_neox", "parallel"),
}

STATE = {"zero": None, "ko": False, "v": {}}


def wrap(orig):
    def eager(module, query, key, value, attention_mask, *args, **kwargs):
        l = module.layer_idx
        T = key.shape[-2]
        if STATE["zero"] is not None and STATE["zero"][0] == l:
            value = value.clone()
            value[:, :, STATE["zero"][1], :] = 0
        if STATE["ko"]:
            bias = torch.zeros(T, T)
            for (kl, q, k) in KNOCKOUT:
                if kl == l:
                    if q < 0:
                        bias[:, k] = float("-inf")
                    else:
                        bias[q, k] = float("-inf")
            assert attention_mask is not None
            attention_mask = attention_mask[:, :, :, :T] + bias
        STATE["v"][l] = value[0].detach().double().numpy()
        return orig(module, query, key, value, attention_mask, *args, **kwargs)
    return eager


def layers_of(model):
    return model.gpt_neox.layers if hasattr(model, "gpt_neox") else model.model.layers


def out_proj(layer):
    att = layer.attention if hasattr(layer, "attention") else layer.self_attn
    return att.dense if hasattr(att, "dense") else att.o_proj


def case(folder, layout):
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()
    tok = AutoTokenizer.from_pretrained(folder)
    ids = tok(TEXT, add_special_tokens=False, return_tensors="pt")["input_ids"]
    T = ids.shape[1]
    cfg = model.config
    L, H = cfg.num_hidden_layers, cfg.num_attention_heads
    Hkv = getattr(cfg, "num_key_value_heads", None) or H
    C = cfg.hidden_size
    d = getattr(cfg, "head_dim", None) or C // H
    layers = layers_of(model)
    cap = {}
    hooks = []
    for l, layer in enumerate(layers):
        hooks.append(out_proj(layer).register_forward_hook(
            lambda m, i, o, l=l: cap.__setitem__(("o", l), o[0].detach().double().numpy())))
        if layout == "post":
            hooks.append(layer.post_attention_layernorm.register_forward_hook(
                lambda m, i, o, l=l: cap.__setitem__(("p", l), o[0].detach().double().numpy())))
        hooks.append(layer.register_forward_hook(
            lambda m, i, o, l=l: cap.__setitem__(("out", l), o[0][0].detach().double().numpy())))
    STATE.update(zero=None, ko=False, v={})
    with torch.no_grad():
        out = model(ids, output_attentions=True, output_hidden_states=True)
    base_v = dict(STATE["v"])
    base_out = {l: cap[("out", l)] for l in range(L)}
    vn = np.zeros((L, T, T)); rl = np.zeros((L, T, T)); al = np.zeros((L, T, T)); vz = np.zeros((L, T, T))
    for l, layer in enumerate(layers):
        WO = out_proj(layer).weight.detach().double().numpy()             # [C, H·d]
        v = base_v[l]                                                      # [Hkv, T, d]
        f = np.stack([v[h // (H // Hkv)] @ WO[:, h * d:(h + 1) * d].T for h in range(H)])   # [H, T, C]
        a = out.attentions[l][0].double().numpy()
        x = out.hidden_states[l][0].double().numpy()
        z = np.einsum("hij,hjc->ijc", a, f)
        vn[l] = np.linalg.norm(z, axis=2)
        o = cap[("o", l)]
        if layout == "post":
            pn = layer.post_attention_layernorm
            w = 1 + pn.weight.detach().double().numpy()
            rms = np.sqrt((o * o).mean(1) + pn.eps)
            z = z / rms[:, None, None] * w
            y = x + cap[("p", l)]
        else:
            y = x + o
        for i in range(T):
            z[i, i] += x[i]
        rl[l] = np.linalg.norm(z, axis=2)
        c = np.maximum(0, np.abs(y).sum(1)[:, None] - np.abs(y[:, None, :] - z).sum(2))
        al[l] = c / c.sum(1, keepdims=True)
    # value zeroing: the whole model again with v_j = 0 in layer l; the layer's own output
    for l in range(L):
        for j in range(T):
            STATE.update(zero=(l, j))
            with torch.no_grad():
                model(ids)
            yz, yo = cap[("out", l)], base_out[l]
            cos = (yz * yo).sum(1) / np.linalg.norm(yz, axis=1) / np.linalg.norm(yo, axis=1)
            vz[l, :, j] = 1 - cos
        vz[l] /= vz[l].sum(1, keepdims=True)
    STATE.update(zero=None, ko=True)
    with torch.no_grad():
        ko = model(ids, output_attentions=True)
    STATE.update(ko=False)
    for h in hooks:
        h.remove()
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)
    return {"ids": np.array(ids[0].numpy(), dtype=np.int32), "vnorm": f32(vn), "resln": f32(rl), "alti": f32(al),
            "vzero": f32(vz), "knockout_attn": f32(np.stack([t[0].double().numpy() for t in ko.attentions]))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "attribution"))
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    for fam, (mod, layout) in FAMILIES.items():
        m = importlib.import_module(mod)
        m.eager_attention_forward = wrap(m.eager_attention_forward)
        save_file(case(os.path.join(ROOT, "tests", "fixtures", "decoders", fam), layout),
                  os.path.join(args.out, f"decoder_{fam}.safetensors"))
    with open(os.path.join(args.out, "decoders.json"), "w") as f:
        json.dump({"text": TEXT, "knockout": KNOCKOUT, "families": list(FAMILIES)}, f, indent=1)
        f.write("\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
