#!/usr/bin/env python3
"""A tiny random CLIPModel with both towers and a CLIP-format tokenizer, and its golden
outputs, for tests/test_clip_golden.c and tests/e2e_clip.sh.

Pinned peers (requirements-vision.txt): torch==2.5.1, transformers==4.46.3, tokenizers==0.20.3,
pillow==11.0.0, safetensors, numpy. CPU only, eager attention, float32.

    /work/venv-peers/bin/python tests/reference/gen_clip_fixtures.py [--out tests/fixtures/clip_full]

Writes under the output folder:
  config.json, model.safetensors, preprocessor_config.json: CLIPModel (text: 2 layers, 4
    heads, C 32, quick GELU, 24 positions, eos_token_id the real <|endoftext|> id; vision: 2
    layers, 4 heads, C 32, 32 x 32 input, 8-pixel patches; projection 16)
  tokenizer.json (+ vocab.json, merges.txt, tokenizer_config.json): CLIPTokenizerFast converted
    by transformers from a slow CLIPTokenizer whose merges are learnt here on a small corpus
    (byte-level alphabet, "</w>" word ends), so the file has exactly CLIP's normalizer,
    pre-tokenizer, post-processor and model options
  golden.safetensors:
    ids.k [n]                 tokenizer ids of TEXT_CASES[k] (every case)
    text.attentions.j [L, H, T, T], text.embeds.j [P]  for TEXTS[j] (unnormalised text_embeds)
    image.embeds.i [P], image.attentions.i  for IMAGES[i]
    logits_per_image.i [len(TEXTS)]
  metadata: cases (JSON list of TEXT_CASES), texts, images.
"""
import argparse, json, os, sys, tempfile
from collections import Counter

import numpy as np
import regex
import torch
from safetensors.numpy import save_file
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer, CLIPTokenizerFast
from transformers.image_utils import load_image
from transformers.models.clip.tokenization_clip import bytes_to_unicode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_vit_fixtures import randomise, require_pins  # noqa: E402  (the same weight spreads)

PINS = {"torch": "2.5.1", "transformers": "4.46.3", "tokenizers": "0.20.3", "pillow": "11.0.0"}
HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = ["rgb_37x29.png", "rgb_120x90.png", "grey_27x35.jpg"]
TEXTS = ["a photo of a cat", "A DOG sitting on the grass!", "two  cats\tand 3 dogs"]
CORPUS = """a photo of a cat. a photo of a dog. a picture of two cats sitting on the grass.
the quick brown fox jumps over the lazy dog; it's a dog's life, isn't it? we'll see, they've gone.
photos of dogs and cats, 1234 5678, 3 dogs and 2 cats, the best photo of the year 2024!
café crème, naïve résumé, straße, ÉCOLE, ελληνικά, русский текст, 中文字符, 日本語のテキスト
emoji 🐱🐶 <html> #hashtag @user https://example.com/path?q=1 -- ... !!! ??? (parens) [brackets]
"""
TEXT_CASES = TEXTS + [
    "", " ", "hello world", "Hello   World\n\n\tagain", "It's a DOG'S life, isn't it? We'll've",
    "café CRÈME naïve", "cafe\u0301 (combining accent, NFC)", "İstanbul ΣΊΣΥΦΟΣ", "nbsp\u00a0here\u2003em space",
    "12345 3.14 x2", "emoji 🐱🐶!!", "<|startoftext|>inside<|endoftext|> text", "mixed中文and日本語",
    "https://example.com/path?q=1", "unknownwordzzqx photography", "   leading and trailing   ",
    "punct...!!!???;;", "\u00e9\u00c9\u1e9e\u212a",
]


def check_pins():
    require_pins("gen_clip_fixtures", PINS)


def learn_vocab(n_merges):
    """CLIP's vocab layout (tokenization_clip.py): the 256 byte characters, the same with
    "</w>", the merges' results, then <|startoftext|>, <|endoftext|>."""
    b2u = bytes_to_unicode()
    pat = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                        regex.IGNORECASE)
    words = Counter()
    for w in pat.findall(CORPUS.lower()):
        chars = [b2u[b] for b in w.encode("utf-8")]
        chars[-1] += "</w>"
        words[tuple(chars)] += 1
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))
        merges.append(best)
        new = Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1]); i += 2
                else:
                    out.append(w[i]); i += 1
            new[tuple(out)] += c
        words = new
    vocab = list(b2u.values())
    vocab += [v + "</w>" for v in vocab]
    for a, b in merges:
        vocab.append(a + b)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(vocab)}, merges


INTERP_SIZE = (48, 40)   # width, height: a 6 x 5 grid of 8-pixel patches against the models' 4 x 4
INTERP_IMAGE = "rgb_120x90.png"


def interp_goldens(vit_dir, images_dir):
    """interpolate_pos_encoding=True at INTERP_SIZE on the committed ViT, DeiT and CLIP vision
    fixtures (tests/fixtures/vit): the processor resizes to the size (no centre crop), the
    position grid is interpolated (bicubic, align_corners False, size= the new grid)."""
    from transformers import AutoImageProcessor, CLIPModel as CM, DeiTForImageClassificationWithTeacher, ViTForImageClassification
    w, h = INTERP_SIZE
    img = load_image(os.path.join(images_dir, INTERP_IMAGE))
    out = {}
    for name, cls in (("vit", ViTForImageClassification), ("deit", DeiTForImageClassificationWithTeacher), ("clip", CM)):
        folder = os.path.join(vit_dir, name)
        model = cls.from_pretrained(folder, attn_implementation="eager").eval()
        proc = AutoImageProcessor.from_pretrained(folder)
        pv = proc(images=img, size={"height": h, "width": w}, do_center_crop=False, return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            if name == "clip":
                o = model.vision_model(pixel_values=pv, output_attentions=True, interpolate_pos_encoding=True)
                out[f"{name}.embedding"] = o.pooler_output[0].numpy()
            else:
                o = model(pixel_values=pv, output_attentions=True, interpolate_pos_encoding=True)
                out[f"{name}.logits"] = o.logits[0].numpy()
        out[f"{name}.pixel_values"] = pv[0].numpy()
        out[f"{name}.attentions"] = torch.stack([a[0] for a in o.attentions]).numpy()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "fixtures", "clip_full"))
    ap.add_argument("--images", default=os.path.join(HERE, "..", "fixtures", "images"))
    args = ap.parse_args()
    check_pins()
    os.makedirs(args.out, exist_ok=True)
    vocab, merges = learn_vocab(260)
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "vocab.json"), "w") as f:
            json.dump(vocab, f, ensure_ascii=False)
        with open(os.path.join(tmp, "merges.txt"), "w") as f:
            f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
        slow = CLIPTokenizer(os.path.join(tmp, "vocab.json"), os.path.join(tmp, "merges.txt"))
        fast = CLIPTokenizerFast(os.path.join(tmp, "vocab.json"), os.path.join(tmp, "merges.txt"))
        fast.save_pretrained(args.out)
    eot = vocab["<|endoftext|>"]
    torch.manual_seed(0)
    cfg = CLIPConfig(text_config=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                                      vocab_size=len(vocab), max_position_embeddings=24, bos_token_id=eot - 1,
                                      eos_token_id=eot, pad_token_id=eot),
                     vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                        image_size=32, patch_size=8),
                     projection_dim=16)
    model = CLIPModel(cfg)
    randomise(model, 700)
    with torch.no_grad():
        model.logit_scale.fill_(2.3)
    model.eval()
    model.config._attn_implementation = "eager"
    model.text_model.config._attn_implementation = "eager"
    model.vision_model.config._attn_implementation = "eager"
    model.save_pretrained(args.out, safe_serialization=True)
    proc = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    proc.save_pretrained(args.out)

    golden = {}
    for k, text in enumerate(TEXT_CASES):
        ids = fast(text)["input_ids"]
        assert ids == slow(text)["input_ids"] or k >= len(TEXTS), (text, ids, slow(text)["input_ids"])
        golden[f"ids.{k}"] = np.array(ids, dtype=np.int32)
    text_embeds, kw = [], dict(output_attentions=True)
    for j, text in enumerate(TEXTS):
        ids = torch.tensor([fast(text)["input_ids"]])
        with torch.no_grad():
            out = model.text_model(input_ids=ids, **kw)
            emb = model.text_projection(out.pooler_output)[0]
        golden[f"text.attentions.{j}"] = torch.stack([a[0] for a in out.attentions]).numpy()
        golden[f"text.embeds.{j}"] = emb.numpy()
        text_embeds.append(emb)
    for i, img_name in enumerate(IMAGES):
        pv = proc(images=load_image(os.path.join(args.images, img_name)), return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            vo = model.vision_model(pixel_values=pv, **kw)
            full = model(input_ids=torch.tensor([fast(TEXTS[0])["input_ids"]]), pixel_values=pv)
            emb = model.visual_projection(vo.pooler_output)[0]
            logits = []
            for text in TEXTS:
                o = model(input_ids=torch.tensor([fast(text)["input_ids"]]), pixel_values=pv)
                logits.append(o.logits_per_image[0, 0])
        assert torch.allclose(full.image_embeds[0], emb / emb.norm())
        golden[f"image.attentions.{i}"] = torch.stack([a[0] for a in vo.attentions]).numpy()
        golden[f"image.embeds.{i}"] = emb.numpy()
        golden[f"logits_per_image.{i}"] = torch.stack(logits).numpy()
    golden = {k: v.astype(np.int32 if k.startswith("ids.") else np.float32) for k, v in golden.items()}
    save_file(golden, os.path.join(args.out, "golden.safetensors"),
              metadata={"cases": json.dumps(TEXT_CASES), "texts": json.dumps(TEXTS), "images": json.dumps(IMAGES)})
    interp = {k: v.astype(np.float32) for k, v in interp_goldens(os.path.join(HERE, "..", "fixtures", "vit"), args.images).items()}
    save_file(interp, os.path.join(args.out, "interp_golden.safetensors"),
              metadata={"image": INTERP_IMAGE, "size": json.dumps(INTERP_SIZE)})
    size = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"clip_full: {size / 1024:.0f} KiB, vocab {len(vocab)}, {len(merges)} merges")


if __name__ == "__main__":
    main()
