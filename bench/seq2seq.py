"""Encoder-decoder speed, t5-small shape (6 + 6 layers, d_model 512, 8 heads, d_ff 2048, vocab
32128), random weights: greedy generation of 32 tokens from 128 source tokens with full capture
(encoder, decoder and cross attention of every layer and head), gaze (bench_seq2seq, in process)
against transformers eager (generate with output_attentions=True, return_dict_in_generate=True),
same machine, same run. Peak memory: each side's process peak RSS (transformers' includes torch).

    /work/venv-peers/bin/python bench/seq2seq.py [--threads 2] [--repeats 3]

Pins: bench/requirements-peers.txt (torch 2.5.1, transformers 4.46.3).
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import torch
from transformers import T5Config, T5ForConditionalGeneration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--src", type=int, default=128)
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "bench", "bench_seq2seq"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    # eos_token_id unreachable so both sides generate all a.gen tokens
    cfg = T5Config(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_heads=8,
                   feed_forward_proj="relu", decoder_start_token_id=0, pad_token_id=0, eos_token_id=32127)
    model = T5ForConditionalGeneration(cfg).eval()
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d, safe_serialization=True)
        src = torch.tensor([[2 + (i * 2654435761) % (cfg.vocab_size - 2) for i in range(a.src)]])
        model = T5ForConditionalGeneration.from_pretrained(d, attn_implementation="eager").eval()
        times = []
        for r in range(a.repeats + 1):
            t0 = time.perf_counter()
            with torch.no_grad():
                out = model.generate(input_ids=src, num_beams=1, do_sample=False, max_new_tokens=a.gen,
                                     output_attentions=True, return_dict_in_generate=True)
            if r:
                times.append((time.perf_counter() - t0) * 1e3)
        hf_ms = sorted(times)[len(times) // 2]
        hf_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        g = subprocess.run(["nice", "-n", "19", a.bench, d, "--src", str(a.src), "--gen", str(a.gen), "--threads",
                            str(a.threads), "--repeats", str(a.repeats)], capture_output=True, text=True, check=True)
        vals = dict(line.split() for line in g.stdout.strip().splitlines())
    print(f"transformers eager: {hf_ms:.1f} ms, {out.sequences.shape[1]} decoder tokens, peak RSS {hf_rss:.0f} MiB")
    print(f"gaze:               {float(vals['generate_ms']):.1f} ms, {vals['decoder_tokens']} decoder tokens, "
          f"peak RSS {float(vals['peak_rss_mib']):.0f} MiB")
    print(f"speed-up {hf_ms / float(vals['generate_ms']):.2f}x, memory ratio {float(vals['peak_rss_mib']) / hf_rss:.2f}")


if __name__ == "__main__":
    sys.exit(main())
