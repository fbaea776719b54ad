#!/usr/bin/env python3
"""Tiny random DINOv2-with-registers and SigLIP (both towers) models with golden outputs, and the
golden of the ablation-weighted ("text-conditioned") rollout of CLIP's image tower, for
tests/test_vision2_golden.c.

Pinned peers (requirements-vision2.txt): torch==2.5.1, transformers==4.48.3 (the first release
with Dinov2WithRegistersModel), tokenizers==0.21.0, pillow==11.0.0, safetensors, numpy. CPU only,
eager attention, float32.

    /work/venvs/h4/bin/python tests/reference/gen_vision2_fixtures.py

Writes:
  tests/fixtures/vit/dinov2_reg/  Dinov2WithRegistersForImageClassification: 4 registers, layer
    scale, 32 x 32 config (4 x 4 positions) but a 40 x 48 processor output, so the positions are
    interpolated (bicubic, antialias=True in this class) to 5 x 6; golden.safetensors as
    gen_vit_fixtures.py (pixel_values.i, attentions.i, hidden.i, embedding.i, logits.i).
    logits.i are computed here as classifier([CLS] ‖ mean of the PATCH tokens): transformers
    4.48.3's Dinov2WithRegistersForImageClassification also averages the 4 register tokens in
    (sequence_output[:, 1:]), which later transformers corrected (1 + num_register_tokens:); gaze
    follows the corrected rule, and golden "logits_4483.i" keeps 4.48.3's output for the record.
  tests/fixtures/siglip_full/  SiglipModel (text: 2 layers, 4 heads, C 32, 32 positions; vision
    2 layers, C 32, 32 x 32, 8-pixel patches, attention-pooling head) and a SentencePiece-style
    Unigram tokenizer.json built with `tokenizers` (trained on a small corpus here: Replace of
    punctuation, whitespace collapse, Strip, Metaspace, "$A </s>"); golden: ids.k of every case
    as `tokenizers` gives them, padded.k (padding="max_length", what gaze feeds the model),
    text.attentions.j, text.embeds.j (pooler_output: the head's output), image.embeds.i,
    logits_per_image.i [n texts].
  tests/fixtures/clip_full/text_rollout_golden.safetensors: for the committed CLIP fixture,
    image i and text j: drop.i.j [L, H] = logits_per_image - logits_per_image with that image
    tower head's output zeroed (a hook before out_proj, independent of gaze's head mask), and
    rollout.i.j [T]: the [CLS] row of the rollout whose heads are fused by the weights
    max(drop, 0) (per layer divided by their sum; a layer with no positive weight is the
    identity), with Abnar & Zuidema's residual 0.5 A + 0.5 I and row normalisation.
"""
import argparse, json, os, sys

import numpy as np
import torch
from safetensors.numpy import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (BitImageProcessor, CLIPModel, CLIPTokenizerFast, CLIPImageProcessor, Dinov2WithRegistersConfig,
                          Dinov2WithRegistersForImageClassification, PreTrainedTokenizerFast, SiglipConfig,
                          SiglipImageProcessor, SiglipModel)
from transformers.image_utils import load_image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_vit_fixtures import randomise, labels, require_pins  # noqa: E402  (the same weight spreads)

PINS = {"torch": "2.5.1", "transformers": "4.48.3", "tokenizers": "0.21.0", "pillow": "11.0.0"}
IMAGES = ["rgb_37x29.png", "rgb_120x90.png", "exif6_40x24.jpg", "grey_27x35.jpg"]
CLIP_IMAGES = ["rgb_37x29.png", "rgb_120x90.png"]
TEXTS = ["a photo of a cat", "A DOG sitting on the grass!", "two  cats\tand 3 dogs"]
CORPUS = """a photo of a cat. a photo of a dog. a picture of two cats sitting on the grass.
the quick brown fox jumps over the lazy dog; it's a dog's life, isn't it? we'll see.
photos of dogs and cats, 1234 5678, 3 dogs and 2 cats, the best photo of the year 2024!
café crème, naïve résumé, straße, ÉCOLE, a sunny day at the beach, a red car on a street
"""
CASES = TEXTS + ["", " ", "hello world", "Hello,   World!!\n\tagain", "café CRÈME naïve", "unknownwordzzqx",
                 "12345 3.14", "   leading and trailing   ", "punct...!!!???;;", "a</s>b"]


def check_pins():
    require_pins("gen_vision2_fixtures", PINS)


def stack(xs):
    return torch.stack([a[0] for a in xs]).numpy().astype(np.float32)


def dinov2_reg(out_dir, images_dir):
    cfg = Dinov2WithRegistersConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, hidden_act="gelu", mlp_ratio=2,
                                    image_size=32, patch_size=8, num_register_tokens=4, num_labels=3, id2label=labels(3),
                                    label2id={v: k for k, v in labels(3).items()})
    model = Dinov2WithRegistersForImageClassification(cfg)
    randomise(model, 900)
    model.eval()
    model.config._attn_implementation = "eager"
    proc = BitImageProcessor(size={"shortest_edge": 40}, crop_size={"height": 40, "width": 48},
                             image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    folder = os.path.join(out_dir, "dinov2_reg")
    model.save_pretrained(folder, safe_serialization=True)
    proc.save_pretrained(folder)
    R = cfg.num_register_tokens
    golden = {}
    for i, name in enumerate(IMAGES):
        pv = proc(images=load_image(os.path.join(images_dir, name)), return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            out = model(pixel_values=pv, output_attentions=True, output_hidden_states=True)
            base = model.dinov2_with_registers(pixel_values=pv)
            seq = base.last_hidden_state
            logits = model.classifier(torch.cat([seq[:, 0], seq[:, 1 + R:].mean(dim=1)], dim=1))
        golden[f"pixel_values.{i}"] = pv[0].numpy()
        golden[f"attentions.{i}"] = stack(out.attentions)
        golden[f"hidden.{i}"] = stack(out.hidden_states)
        golden[f"embedding.{i}"] = base.pooler_output[0].numpy()
        golden[f"logits.{i}"] = logits[0].numpy()
        golden[f"logits_4483.{i}"] = out.logits[0].numpy()
    golden = {k: v.astype(np.float32) for k, v in golden.items()}
    save_file(golden, os.path.join(folder, "golden.safetensors"), metadata={"images": json.dumps(IMAGES)})
    print(f"dinov2_reg: T = {golden['attentions.0'].shape[-1]}")


def siglip_tokenizer():
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.Replace(Regex(r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]"), ""),
                                           normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=120, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
                                      shrinking_factor=0.75)
    tok.train_from_iterator(CORPUS.split("\n") * 4, trainer)
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", eos)])
    return tok


def siglip(out_dir, images_dir):
    os.makedirs(out_dir, exist_ok=True)
    tok = siglip_tokenizer()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=32)
    fast.save_pretrained(out_dir)
    V = tok.get_vocab_size()
    cfg = SiglipConfig(text_config=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                                        vocab_size=V, max_position_embeddings=32, pad_token_id=tok.token_to_id("<pad>"),
                                        eos_token_id=tok.token_to_id("</s>")),
                       vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                          image_size=32, patch_size=8))
    model = SiglipModel(cfg)
    randomise(model, 950)
    model.eval()
    for m in (model, model.text_model, model.vision_model):
        m.config._attn_implementation = "eager"
    model.save_pretrained(out_dir, safe_serialization=True)
    proc = SiglipImageProcessor(size={"height": 32, "width": 32})
    proc.save_pretrained(out_dir)
    golden = {}
    for k, text in enumerate(CASES):
        golden[f"ids.{k}"] = np.array(tok.encode(text).ids, dtype=np.int32)
        golden[f"padded.{k}"] = np.array(fast(text, padding="max_length", max_length=32)["input_ids"], dtype=np.int32)
    for j, text in enumerate(TEXTS):
        ids = torch.tensor([fast(text, padding="max_length", max_length=32)["input_ids"]])
        with torch.no_grad():
            out = model.text_model(input_ids=ids, output_attentions=True)
        golden[f"text.attentions.{j}"] = stack(out.attentions)
        golden[f"text.embeds.{j}"] = out.pooler_output[0].numpy()
    ids = torch.tensor([fast(t, padding="max_length", max_length=32)["input_ids"] for t in TEXTS])
    for i, name in enumerate(IMAGES):
        pv = proc(images=load_image(os.path.join(images_dir, name)), return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            vo = model.vision_model(pixel_values=pv, output_attentions=True)
            full = model(input_ids=ids, pixel_values=pv)
        golden[f"image.attentions.{i}"] = stack(vo.attentions)
        golden[f"image.embeds.{i}"] = vo.pooler_output[0].numpy()
        golden[f"logits_per_image.{i}"] = full.logits_per_image[0].numpy()
    golden = {k: v.astype(np.int32 if k.startswith(("ids.", "padded.")) else np.float32) for k, v in golden.items()}
    save_file(golden, os.path.join(out_dir, "golden.safetensors"),
              metadata={"cases": json.dumps(CASES), "texts": json.dumps(TEXTS), "images": json.dumps(IMAGES)})
    print(f"siglip_full: vocab {V}")


def weighted_rollout(attn, w):
    """attn [L, H, T, T], w [L, H] >= 0 -> the rollout matrix [T, T] (float64)."""
    L, H, T, _ = attn.shape
    R = np.eye(T)
    for l in range(L):
        tot = w[l].sum()
        if tot > 0:
            F = np.tensordot(w[l] / tot, attn[l].astype(np.float64), axes=(0, 0))
            A = 0.5 * F + 0.5 * np.eye(T)
            A /= A.sum(axis=1, keepdims=True)
        else:
            A = np.eye(T)
        R = A @ R
    return R


def clip_text_rollout(clip_dir, images_dir):
    model = CLIPModel.from_pretrained(clip_dir, attn_implementation="eager").eval()
    fast = CLIPTokenizerFast.from_pretrained(clip_dir)
    proc = CLIPImageProcessor.from_pretrained(clip_dir)
    layers = model.vision_model.encoder.layers
    L, H = len(layers), layers[0].self_attn.num_heads
    d = layers[0].self_attn.head_dim
    ablate = {"at": None}

    def pre_hook(layer_index):
        def f(module, args):
            if ablate["at"] is None or ablate["at"][0] != layer_index:
                return None
            x = args[0].clone()
            h = ablate["at"][1]
            x[..., h * d:(h + 1) * d] = 0
            return (x,)
        return f

    for l, layer in enumerate(layers):
        layer.self_attn.out_proj.register_forward_pre_hook(pre_hook(l))
    golden = {}
    for i, name in enumerate(CLIP_IMAGES):
        pv = proc(images=load_image(os.path.join(images_dir, name)), return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            attn = stack(model.vision_model(pixel_values=pv, output_attentions=True).attentions)
        for j, text in enumerate(TEXTS):
            ids = torch.tensor([fast(text)["input_ids"]])
            with torch.no_grad():
                ablate["at"] = None
                s0 = model(input_ids=ids, pixel_values=pv).logits_per_image[0, 0].item()
                drop = np.zeros((L, H))
                for l in range(L):
                    for h in range(H):
                        ablate["at"] = (l, h)
                        drop[l, h] = s0 - model(input_ids=ids, pixel_values=pv).logits_per_image[0, 0].item()
                ablate["at"] = None
            R = weighted_rollout(attn, np.maximum(drop, 0))
            golden[f"drop.{i}.{j}"] = drop.astype(np.float32)
            golden[f"rollout.{i}.{j}"] = R[0].astype(np.float32)
            golden[f"baseline.{i}.{j}"] = np.array([s0], dtype=np.float32)
    save_file(golden, os.path.join(clip_dir, "text_rollout_golden.safetensors"),
              metadata={"images": json.dumps(CLIP_IMAGES), "texts": json.dumps(TEXTS)})
    print("clip text rollout:", {k: v.round(3).tolist() for k, v in golden.items() if k.startswith("drop.0.0")})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=os.path.join(HERE, "..", "fixtures"))
    args = ap.parse_args()
    check_pins()
    images = os.path.join(args.fixtures, "images")
    torch.manual_seed(0)
    dinov2_reg(os.path.join(args.fixtures, "vit"), images)
    siglip(os.path.join(args.fixtures, "siglip_full"), images)
    clip_text_rollout(os.path.join(args.fixtures, "clip_full"), images)


if __name__ == "__main__":
    main()
