#!/usr/bin/env python3
"""Tiny random vision transformers and their golden outputs, for tests/test_vit_golden.c.

Pinned peers (requirements-vision.txt): torch==2.5.1, transformers==4.46.3, pillow==11.0.0,
safetensors, numpy. CPU only, eager attention (output_attentions=True), float32.

    /work/venv-peers/bin/python tests/reference/gen_vit_fixtures.py [--out tests/fixtures/vit]

For each model (a folder under the output: config.json, model.safetensors in F32,
preprocessor_config.json):
  vit       ViTForImageClassification, 32 x 32 input, 8-pixel patches, bilinear processor
  vit_pool  ViTModel with its pooler (tanh), 24 x 24 input, 6-pixel patches, bicubic
  deit      DeiTForImageClassificationWithTeacher ([CLS] + distillation token), resize 40 + crop 32
  dinov2    Dinov2ForImageClassification: layer scale, classifier over [CLS ‖ mean patch],
            config image_size 32 but a 40 x 48 processor output, so the position embeddings
            are interpolated (bicubic) to a 5 x 6 grid
  clip      CLIPModel (vision tower read; text tower ignored): pre-layernorm, quick GELU,
            post-layernorm of [CLS]; nested vision_config saved as a diff against its defaults;
            shortest edge 32 (bicubic) + centre crop 32
  siglip    SiglipModel (vision tower): no [CLS] (patch tokens only), tanh GELU, post-layernorm
            of every token, the attention-pooling head (probe + MultiheadAttention + MLP)
and golden.safetensors holding, per image i of IMAGES: pixel_values.i [3, h, w],
attentions.i [L, H, T, T], hidden.i [L + 1, T, C] (hidden_states: embeddings, then each
layer's output), logits.i [n_labels] (when the model classifies), embedding.i [C] (pooler
output, else the final [CLS] after layernorm).

Weights are drawn with larger spreads than transformers' initialisation (std 0.02 would make
every attention map near uniform and the test blind): see randomise().
"""
import argparse, json, os, sys

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import (BitImageProcessor, CLIPConfig, CLIPImageProcessor, CLIPModel, DeiTConfig, SiglipConfig,
                          SiglipImageProcessor, SiglipModel, DeiTForImageClassificationWithTeacher, DeiTImageProcessor,
                          Dinov2Config, Dinov2ForImageClassification, ViTConfig, ViTForImageClassification,
                          ViTImageProcessor, ViTModel)
from transformers.image_utils import load_image

PINS = {"torch": "2.5.1", "transformers": "4.46.3", "pillow": "11.0.0"}
HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = ["rgb_37x29.png", "rgb_120x90.png", "exif6_40x24.jpg", "grey_27x35.jpg"]


def require_pins(script, pins):
    """Exit unless each pinned package (torch, transformers, tokenizers, pillow) is installed at its
    pinned version; shared by the vision fixture scripts (gen_clip, gen_vision2)."""
    import importlib
    module = {"torch": "torch", "transformers": "transformers", "tokenizers": "tokenizers", "pillow": "PIL"}
    for k, v in pins.items():
        got = importlib.import_module(module[k]).__version__.split("+")[0]
        if got != v:
            sys.exit(f"{script}: {k} {got} installed, {v} pinned")


def check_pins():
    require_pins("gen_vit_fixtures", PINS)


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layernorm" in name or "norm1" in name or "norm2" in name or "LayerNorm" in name:
                if name.endswith("weight"):
                    p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "lambda1" in name or name.endswith("logit_scale") or name.endswith("logit_bias"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "token" in name or "position" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / fan_in ** 0.5))


def labels(n):
    return {i: f"class {i} <{chr(ord('a') + i)}>" for i in range(n)}


def models():
    common = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, hidden_act="gelu")
    vit = ViTForImageClassification(ViTConfig(**common, intermediate_size=64, image_size=32, patch_size=8,
                                              num_labels=5, id2label=labels(5), label2id={v: k for k, v in labels(5).items()}))
    vit_pool = ViTModel(ViTConfig(**common, intermediate_size=48, image_size=24, patch_size=6), add_pooling_layer=True)
    deit = DeiTForImageClassificationWithTeacher(DeiTConfig(**common, intermediate_size=64, image_size=32, patch_size=8,
                                                            num_labels=4, id2label=labels(4),
                                                            label2id={v: k for k, v in labels(4).items()}))
    clip = CLIPModel(CLIPConfig(text_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                                  num_attention_heads=2, vocab_size=64, max_position_embeddings=16),
                                vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                                   num_attention_heads=4, image_size=32, patch_size=8),
                                projection_dim=16))
    dino = Dinov2ForImageClassification(Dinov2Config(**common, mlp_ratio=2, image_size=32, patch_size=8, num_labels=3,
                                                     id2label=labels(3), label2id={v: k for k, v in labels(3).items()}))
    procs = {
        "vit": ViTImageProcessor(size={"height": 32, "width": 32}, resample=2),
        "vit_pool": ViTImageProcessor(size={"height": 24, "width": 24}, resample=3, image_mean=[0.4, 0.5, 0.6],
                                      image_std=[0.2, 0.25, 0.3]),
        "deit": DeiTImageProcessor(size={"height": 40, "width": 40}, crop_size={"height": 32, "width": 32}),
        "dinov2": BitImageProcessor(size={"shortest_edge": 40}, crop_size={"height": 40, "width": 48},
                                    image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]),
    }
    siglip = SiglipModel(SiglipConfig(text_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                                      num_attention_heads=2, vocab_size=64, max_position_embeddings=16),
                                      vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                                         num_attention_heads=4, image_size=32, patch_size=8)))
    procs["siglip"] = SiglipImageProcessor(size={"height": 32, "width": 32})
    procs["clip"] = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return {"vit": vit, "vit_pool": vit_pool, "deit": deit, "dinov2": dino, "clip": clip, "siglip": siglip}, procs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "fixtures", "vit"))
    ap.add_argument("--images", default=os.path.join(HERE, "..", "fixtures", "images"))
    args = ap.parse_args()
    check_pins()
    torch.manual_seed(0)
    ms, procs = models()
    for seed, (name, model) in enumerate(ms.items()):
        randomise(model, 100 + seed)
        model.eval()
        model.config._attn_implementation = "eager"
        if name in ("clip", "siglip"):
            model.vision_model.config._attn_implementation = "eager"
        folder = os.path.join(args.out, name)
        model.save_pretrained(folder, safe_serialization=True)
        procs[name].save_pretrained(folder)
        golden = {}
        for i, img_name in enumerate(IMAGES):
            img = load_image(os.path.join(args.images, img_name))
            pv = procs[name](images=img, return_tensors="pt")["pixel_values"]
            with torch.no_grad():
                kw = dict(output_attentions=True, output_hidden_states=True)
                if name in ("clip", "siglip"):
                    out = model.vision_model(pixel_values=pv, **kw)
                    emb = out.pooler_output[0]
                elif name == "dinov2":
                    out = model(pixel_values=pv, **kw)
                    base = model.dinov2(pixel_values=pv)
                    emb = base.pooler_output[0]
                elif name == "vit_pool":
                    out = model(pixel_values=pv, **kw)
                    emb = out.pooler_output[0]
                else:
                    out = model(pixel_values=pv, **kw)
                    inner = model.vit if name == "vit" else model.deit
                    emb = inner(pixel_values=pv).last_hidden_state[0, 0]
            golden[f"pixel_values.{i}"] = pv[0].numpy().astype(np.float32)
            golden[f"attentions.{i}"] = torch.stack([a[0] for a in out.attentions]).numpy().astype(np.float32)
            golden[f"hidden.{i}"] = torch.stack([h[0] for h in out.hidden_states]).numpy().astype(np.float32)
            golden[f"embedding.{i}"] = emb.numpy().astype(np.float32)
            if getattr(out, "logits", None) is not None:
                golden[f"logits.{i}"] = out.logits[0].numpy().astype(np.float32)
        save_file(golden, os.path.join(folder, "golden.safetensors"),
                  metadata={"images": json.dumps(IMAGES)})
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        print(f"{name}: {size / 1024:.0f} KiB, T = {golden['attentions.0'].shape[-1]}")


if __name__ == "__main__":
    main()
