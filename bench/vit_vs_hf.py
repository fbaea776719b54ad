#!/usr/bin/env python3
"""gaze vs Hugging Face transformers on a ViT-B/16 shape (random weights), 224 x 224, CPU,
full attention capture, same threads, one session.

  gaze        build/bench/bench_vit: image decode (gaze_image_load), preprocessing
              (gaze_image_preprocess), and gaze_model_run_image = preprocessing + forward +
              exact attention of all 12 layers x 12 heads x 197 x 197, medians of --repeats
  HF          PIL open + load_image (decode), ViTImageProcessor (preprocess), then ViTModel
              (attn_implementation="eager", add_pooling_layer=False) with output_attentions=True
              under inference_mode, torch.set_num_threads(THREADS); medians of --repeats

The model folder (config.json + F32 model.safetensors, 330 MiB, + preprocessor_config.json) is
made here with a fixed seed in a temporary folder. Needs tests/reference/requirements-vision.txt:

  /work/venv-peers/bin/python bench/vit_vs_hf.py [--threads 2] [--repeats 5] [--write bench/results/vit.md]
"""
import argparse, datetime, os, platform, subprocess, statistics, sys, tempfile, time

import torch
import transformers
from transformers import ViTConfig, ViTImageProcessor, ViTModel
from transformers.image_utils import load_image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--image", default="tests/fixtures/images/rgb_120x90.png")
    ap.add_argument("--bin", default="build/bench/bench_vit")
    ap.add_argument("--write")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        cfg = ViTConfig()
        cfg._attn_implementation = "eager"
        model = ViTModel(cfg, add_pooling_layer=False).eval()
        assert type(model.encoder.layer[0].attention).__name__ == "ViTAttention", "not eager attention"
        model.save_pretrained(d, safe_serialization=True)
        proc = ViTImageProcessor()
        proc.save_pretrained(d)
        out = subprocess.run([a.bin, d, a.image, "--threads", str(a.threads), "--repeats", str(a.repeats)],
                             check=True, capture_output=True, text=True).stdout
        g = dict(line.split() for line in out.strip().splitlines())
        dec, pre, fwd = [], [], []
        for r in range(a.repeats + 1):
            t0 = time.perf_counter()
            img = load_image(a.image)
            img.load()
            t1 = time.perf_counter()
            pv = proc(images=img, return_tensors="pt")["pixel_values"]
            t2 = time.perf_counter()
            with torch.inference_mode():
                o = model(pixel_values=pv, output_attentions=True)
            t3 = time.perf_counter()
            assert len(o.attentions) == 12 and o.attentions[0].shape[-1] == 197
            if r:
                dec.append((t1 - t0) * 1e3); pre.append((t2 - t1) * 1e3); fwd.append((t3 - t2) * 1e3)
    med = statistics.median
    hf = {"decode": med(dec), "pre": med(pre), "fwd": med(fwd)}
    load = os.getloadavg()
    lines = [
        "# ViT-B/16 at 224 x 224: gaze vs transformers (indicative only)",
        "",
        f"Measured {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC on a shared, loaded machine "
        f"({os.cpu_count()} cores shared by several builds and test runs; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        "at the end): the figures are indicative, not quiet-machine numbers.",
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, transformers {transformers.__version__}, "
        f"{a.threads} threads each, medians of {a.repeats} runs after 1 warm-up, random weights (seed 0), F32.",
        "Input: `" + a.image + "` (120 x 90 PNG, resized to 224 x 224 bilinear by ViTImageProcessor's defaults); "
        f"{g['tokens']} tokens.",
        "",
        "Command: `/work/venv-peers/bin/python bench/vit_vs_hf.py --threads %d --repeats %d --write bench/results/vit.md`" % (a.threads, a.repeats),
        "",
        "| stage | gaze | transformers |",
        "|---|---|---|",
        f"| decode (PNG → RGB) | {float(g['decode_ms']):.2f} ms | {hf['decode']:.2f} ms (PIL, load_image) |",
        f"| preprocess (resize, rescale, normalise) | {float(g['preprocess_ms']):.2f} ms | {hf['pre']:.2f} ms (ViTImageProcessor) |",
        f"| forward + every attention map (12 x 12 x 197 x 197) | {float(g['run_ms']):.0f} ms (includes preprocessing) | {hf['fwd']:.0f} ms (eager, output_attentions) |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if a.write:
        open(a.write, "w").write(text)


if __name__ == "__main__":
    main()
