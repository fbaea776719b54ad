#!/usr/bin/env python3
"""Golden fixtures for gaze's attribution methods (src/analysis/attrib.c, the BERT forward in
src/models/bert.c, gaze_model_unembed) — an independent implementation on HF transformers.

Peers (pinned in requirements-attribution.txt): torch 2.5.1 on CPU, transformers 4.46.3 (eager
attention), numpy (float64 for every formula), safetensors.

MiniLM (sentence-transformers/all-MiniLM-L6-v2 folder): for each sentence, hooks give every
layer's input x, value projection output v, attention weights α (output_attentions) and the
attention block's real post-LN output y (BertSelfOutput's output). From them, in float64:
  f_h(x_j)  = v_j^h W_O^h                                   (W_O^h: the head's input columns)
  vnorm_heads[l,h,i,j] = α^h_ij ‖f_h(x_j)‖₂,   vnorm[l,i,j] = ‖Σ_h α^h_ij f_h(x_j)‖₂
  z_ij = Σ_h α^h_ij f_h(x_j) + δ_ij x_i,  σ_i = sqrt(var(Σ_j z_ij + b_O) + eps)
  g_i(z) = γ ⊙ (z − mean z)/σ_i,   resln[l,i,j] = ‖g_i(z_ij)‖₂
  alti[l,i,j] = max(0, ‖y_i‖₁ − ‖y_i − g_i(z_ij)‖₁), rows normalised  (y from HF, not rebuilt)
  vzero[l,i,j] = 1 − cos(layer output_i, the layer rerun (HF module) with value row j zeroed by
                 a hook on the value projection), rows normalised
  alti_rollout = alti[L-1] · … · alti[0]
Knockout: the layers run one by one with an additive [T, T] mask, −inf on the blocked edges
(edges below); the fixture keeps the pooled, L2-normalised embedding and the layer-1 attention.

SmolLM2 attributions (pre-LN, no post-norm): f_h(x̃_j) = v_j^{kv(h)} W_O^h (GQA: the key/value
head of h), z_ij = Σ_h α^h_ij f_h + δ_ij x_i, y_i = x_i + o_proj output (HF hooks); value-norm,
residual norm ‖z_ij‖ and ALTI as above, for "The keys to the cabinet".

SmolLM2 (GGUF, dequantized to f32 by transformers, tie_word_embeddings=True as in
gen_llama_fixtures.py): HF's hidden states after layers 5 and 29 (last row) and the logits of
model.norm + lm_head on them, kept for 64 ids (the top 32 and 32 fixed others): what
gaze_model_unembed must reproduce from the same hidden states.

  /work/venv-peers/bin/python tests/reference/gen_attribution_fixtures.py [--out tests/fixtures/attribution]
"""
import argparse
import json
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

SENTENCES = [
    "The keys to the cabinet are on the table.",
    "Alice gave Bob the book because she was leaving.",
]
KNOCKOUT = [(0, -1, 2), (1, -1, 2), (3, 0, 1)]   # (layer, query, key); -1 = every query


def minilm_case(model, tok, text):
    enc = tok(text, return_tensors="pt")
    ids = enc["input_ids"]
    T = ids.shape[1]
    L = model.config.num_hidden_layers
    H = model.config.num_attention_heads
    C = model.config.hidden_size
    d = C // H
    cap = {}
    hooks = []
    for l, layer in enumerate(model.encoder.layer):
        hooks.append(layer.attention.self.value.register_forward_hook(
            lambda m, i, o, l=l: cap.__setitem__(("v", l), o[0].detach().double().numpy())))
        hooks.append(layer.attention.output.register_forward_hook(
            lambda m, i, o, l=l: cap.__setitem__(("y", l), o[0].detach().double().numpy())))
    with torch.no_grad():
        out = model(**enc, output_attentions=True, output_hidden_states=True)
    for h in hooks:
        h.remove()
    hs = [x[0].double().numpy() for x in out.hidden_states]          # [L+1] of [T, C]
    att = [a[0].double().numpy() for a in out.attentions]            # [L] of [H, T, T]
    vnh = np.zeros((L, H, T, T)); vn = np.zeros((L, T, T)); rl = np.zeros((L, T, T))
    al = np.zeros((L, T, T)); vz = np.zeros((L, T, T))
    for l, layer in enumerate(model.encoder.layer):
        WO = layer.attention.output.dense.weight.detach().double().numpy()   # [C, C] (out, in)
        bO = layer.attention.output.dense.bias.detach().double().numpy()
        ln = layer.attention.output.LayerNorm
        gam = ln.weight.detach().double().numpy()
        eps = ln.eps
        v = cap[("v", l)]
        f = np.stack([v[:, h * d:(h + 1) * d] @ WO[:, h * d:(h + 1) * d].T for h in range(H)])   # [H, T, C]
        a = att[l]
        x = hs[l]
        vnh[l] = a * np.linalg.norm(f, axis=2)[:, None, :]
        z = np.einsum("hij,hjc->ijc", a, f)                           # [T(i), T(j), C]
        vn[l] = np.linalg.norm(z, axis=2)
        for i in range(T):
            z[i, i] += x[i]
        pre = z.sum(axis=1) + bO                                      # [T, C]
        sig = np.sqrt(pre.var(axis=1) + eps)
        g = (z - z.mean(axis=2, keepdims=True)) / sig[:, None, None] * gam
        rl[l] = np.linalg.norm(g, axis=2)
        y = cap[("y", l)]
        c = np.maximum(0, np.abs(y).sum(1)[:, None] - np.abs(y[:, None, :] - g).sum(2))
        al[l] = c / c.sum(1, keepdims=True)
        # value zeroing: the real layer module again, value row j zeroed by a hook
        xin = torch.from_numpy(hs[l]).float()[None]
        for j in range(T):
            def zero(m, i, o, j=j):
                o = o.clone()
                o[:, j, :] = 0
                return o
            hk = layer.attention.self.value.register_forward_hook(zero)
            with torch.no_grad():
                yz = layer(xin)[0][0].double().numpy()
            hk.remove()
            yo = hs[l + 1]
            cos = (yz * yo).sum(1) / np.linalg.norm(yz, axis=1) / np.linalg.norm(yo, axis=1)
            vz[l, :, j] = 1 - cos
        vz[l] /= vz[l].sum(1, keepdims=True)
    roll = al[0]
    for l in range(1, L):
        roll = al[l] @ roll
    # knockout: layers one by one with an additive mask
    h = model.embeddings(input_ids=ids, token_type_ids=enc["token_type_ids"])
    ko_att = None
    with torch.no_grad():
        for l, layer in enumerate(model.encoder.layer):
            m = torch.zeros(1, 1, T, T)
            for (kl, q, k) in KNOCKOUT:
                if kl == l:
                    if q < 0:
                        m[0, 0, :, k] = float("-inf")
                    else:
                        m[0, 0, q, k] = float("-inf")
            o = layer(h, attention_mask=m, output_attentions=True)
            h = o[0]
            if l == 1:
                ko_att = o[1][0].double().numpy()
    last = h[0].double().numpy()
    emb = last.mean(0)
    emb /= np.linalg.norm(emb)
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)
    return {
        "ids": np.array(ids[0].numpy(), dtype=np.int32),
        "vnorm_heads": f32(vnh), "vnorm": f32(vn), "resln": f32(rl), "alti": f32(al), "vzero": f32(vz),
        "alti_rollout": f32(roll), "knockout_embedding": f32(emb), "knockout_attn1": f32(ko_att),
    }


def smollm_case(gguf, prompt):
    folder, name = os.path.split(gguf)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32,
                                                 attn_implementation="eager", tie_word_embeddings=True)
    model.eval()
    assert torch.equal(model.lm_head.weight, model.model.embed_tokens.weight)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    ids = tok(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = model(ids, output_hidden_states=True)
        # HF's last hidden state is after model.norm: the raw residual after each layer comes
        # from running the layers by hand (checked against HF's hidden_states for layer 5)
        pos = torch.arange(ids.shape[1])[None]
        x = model.model.embed_tokens(ids)
        rot = model.model.rotary_emb(x, pos)
        T = ids.shape[1]
        causal = torch.triu(torch.full((T, T), float("-inf")), 1)[None, None]
        raw = {}
        for l, layer in enumerate(model.model.layers):
            x = layer(x, attention_mask=causal, position_ids=pos, position_embeddings=rot)[0]
            raw[l] = x[0, -1:].clone()
        assert torch.allclose(raw[5], out.hidden_states[6][0, -1:], atol=1e-5)
        rows = [raw[5], raw[29]]
        logits = [model.lm_head(model.model.norm(r))[0] for r in rows]
    # attributions of a pre-LN decoder: z_ij = Σ_h α^h_ij f_h(x̃_j) + δ_ij x_i (x̃ the normed
    # input inside f, no post-LN), y_i = x_i + attention output (HF's o_proj output + residual)
    ap = "The keys to the cabinet"
    aids = tok(ap, add_special_tokens=False, return_tensors="pt")["input_ids"]
    cap = {}
    hooks = []
    for l, layer in enumerate(model.model.layers):
        hooks.append(layer.self_attn.v_proj.register_forward_hook(
            lambda m, i, o, l=l: cap.__setitem__(("v", l), o[0].detach().double().numpy())))
        hooks.append(layer.self_attn.o_proj.register_forward_hook(
            lambda m, i, o, l=l: cap.__setitem__(("o", l), o[0].detach().double().numpy())))
    with torch.no_grad():
        aout = model(aids, output_attentions=True, output_hidden_states=True)
    for h in hooks:
        h.remove()
    cfg = model.config
    L, H, Hkv = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads
    C = cfg.hidden_size
    d = C // H
    T = aids.shape[1]
    vnh = np.zeros((L, H, T, T)); vn = np.zeros((L, T, T)); rl = np.zeros((L, T, T)); al = np.zeros((L, T, T))
    for l, layer in enumerate(model.model.layers):
        WO = layer.self_attn.o_proj.weight.detach().double().numpy()
        v = cap[("v", l)]
        f = np.stack([v[:, (h // (H // Hkv)) * d:(h // (H // Hkv) + 1) * d] @ WO[:, h * d:(h + 1) * d].T for h in range(H)])
        a = aout.attentions[l][0].double().numpy()
        x = aout.hidden_states[l][0].double().numpy()
        vnh[l] = a * np.linalg.norm(f, axis=2)[:, None, :]
        z = np.einsum("hij,hjc->ijc", a, f)
        vn[l] = np.linalg.norm(z, axis=2)
        for i in range(T):
            z[i, i] += x[i]
        rl[l] = np.linalg.norm(z, axis=2)
        y = x + cap[("o", l)]
        c = np.maximum(0, np.abs(y).sum(1)[:, None] - np.abs(y[:, None, :] - z).sum(2))
        al[l] = c / c.sum(1, keepdims=True)
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)
    attrib = {"ids": np.array(aids[0].numpy(), dtype=np.int32), "vnorm_heads": f32(vnh), "vnorm": f32(vn),
              "resln": f32(rl), "alti": f32(al)}

    top = torch.topk(logits[1], 32).indices.tolist()
    others = [i for i in range(0, model.config.vocab_size, 1531) if i not in top][:32]
    sel = np.array(top + others, dtype=np.int32)
    return attrib, {
        "ids": np.array(ids[0].numpy(), dtype=np.int32),
        "hidden": np.ascontiguousarray(torch.cat(rows).numpy(), dtype=np.float32),   # [2, C]
        "logit_ids": sel,
        "logits": np.ascontiguousarray(torch.stack([lg[torch.from_numpy(sel).long()] for lg in logits]).numpy(),
                                       dtype=np.float32),                         # [2, 64]
    }


def main():
    home = os.environ.get("GAZE_HOME") or os.path.expanduser("~/.cache/gaze")
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", default=os.path.join(home, "models", "minilm"))
    ap.add_argument("--gguf", default=os.path.join(home, "models", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                                                  "attribution"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(args.minilm)
    model = AutoModel.from_pretrained(args.minilm, attn_implementation="eager")
    model.eval()
    meta = {"sentences": SENTENCES, "knockout": KNOCKOUT, "lens_prompt": "The capital of France is"}
    for n, s in enumerate(SENTENCES):
        save_file(minilm_case(model, tok, s), os.path.join(args.out, f"minilm_{n}.safetensors"))
    attrib, lens = smollm_case(args.gguf, meta["lens_prompt"])
    save_file(lens, os.path.join(args.out, "smollm2_lens.safetensors"))
    save_file(attrib, os.path.join(args.out, "smollm2_attrib.safetensors"))
    meta["smollm2_attrib_prompt"] = "The keys to the cabinet"
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
