#!/usr/bin/env python3
"""Encoder-decoder speed and memory, t5-small shape (6 + 6 layers, d_model 512, 8 heads of 64, d_ff
2048, vocab 32128, ReLU, tied lm_head), random weights: greedy generation of --gen tokens from
--src source tokens with full capture, gaze against transformers eager, same machine, same run.

  gaze (in-process)   build/bench/bench_seq2seq --serve: model loaded once; times s2s_generate_ex
                      (encoder + decoder steps + exact encoder, decoder and cross attention of every
                      layer, head and row, and the logits of every step)
  transformers        T5ForConditionalGeneration (attn_implementation="eager"), generate(num_beams=1,
                      do_sample=False, max_new_tokens, output_attentions=True,
                      return_dict_in_generate=True), torch.set_num_threads(THREADS), no_grad

Both are worker processes (bench/bert_vs_hf.py's protocol), timed in interleaved rounds (each
round times both, alternating order), median of --repeats after --warmup runs. Peak memory: each
worker's peak RSS (os.wait4 ru_maxrss); the model is written by a third process so neither worker
inherits its peak. Nothing is subtracted: transformers' includes Python + torch.

    nice -n 19 /work/venv-peers/bin/python bench/seq2seq.py [--write bench/results/seq2seq.md]

Pins: bench/requirements-peers.txt (torch 2.5.1, transformers 4.46.3). Build first (bench_seq2seq).
"""
import argparse
import datetime
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_vs_hf import cpu_name, start, stop, time_worker  # noqa: E402  (the shared worker protocol)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HF_WORKER = r'''
import resource, sys, time
import torch, transformers
from transformers import T5ForConditionalGeneration
folder, threads, src_n, gen, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
model = T5ForConditionalGeneration.from_pretrained(folder, attn_implementation="eager").eval()
V = model.config.vocab_size
src = torch.tensor([[2 + (i * 2654435761) % (V - 2) for i in range(src_n)]])

def run():
    c0, t0 = time.process_time(), time.perf_counter()
    with torch.no_grad():
        out = model.generate(input_ids=src, num_beams=1, do_sample=False, max_new_tokens=gen,
                             output_attentions=True, return_dict_in_generate=True)
    ms, cpu = (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3
    assert len(out.encoder_attentions) == model.config.num_layers and len(out.cross_attentions) == out.sequences.shape[1] - 1
    return ms, cpu, out.sequences.shape[1]

Tt = 0
for _ in range(warmup):
    _, _, Tt = run()
print("ready T=%d Tt=%d threads=%d torch=%s transformers=%s" % (src_n, Tt, torch.get_num_threads(), torch.__version__,
      transformers.__version__), flush=True)
for line in sys.stdin:
    if line.startswith("quit"):
        break
    ms, cpu, _ = run()
    print("ms %.4f cpu %.4f" % (ms, cpu), flush=True)
print("maxrss_kib %d" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
'''


def make_model(folder):
    import torch
    from transformers import T5Config, T5ForConditionalGeneration
    torch.manual_seed(0)
    # eos_token_id: the last id, so that random weights run all --gen steps on both sides
    cfg = T5Config(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_heads=8,
                   feed_forward_proj="relu", decoder_start_token_id=0, pad_token_id=0, eos_token_id=32127)
    T5ForConditionalGeneration(cfg).eval().save_pretrained(folder, safe_serialization=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--src", type=int, default=128)
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--omp-wait-policy", choices=["active", "passive"], default="passive")
    ap.add_argument("--settle-ms", type=float, default=300)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--write", metavar="MD")
    ap.add_argument("--make-model", metavar="DIR", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.make_model:
        make_model(a.make_model)
        return
    bench = os.path.join(a.build, "bench", "bench_seq2seq")
    if not os.access(bench, os.X_OK):
        sys.exit("%s missing: build first" % bench)
    tmp = tempfile.mkdtemp(prefix="gaze_bench_s2s_")
    folder = os.path.join(tmp, "t5-small-shape")
    subprocess.run([a.python, os.path.abspath(__file__), "--make-model", folder], check=True)
    env = dict(os.environ, GAZE_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads), OMP_WAIT_POLICY=a.omp_wait_policy)
    load0 = os.getloadavg()
    gz, gz_ready = start([bench, folder, "--serve", "--src", str(a.src), "--gen", str(a.gen), "--threads",
                          str(a.threads)], env)
    hf, hf_ready = start([a.python, "-c", HF_WORKER, folder, str(a.threads), str(a.src), str(a.gen), str(a.warmup)], env)
    tt = {w: int(line.split()[2].split("=")[1]) for w, line in (("gz", gz_ready), ("hf", hf_ready))}
    if tt["gz"] != tt["hf"]:
        sys.exit("decoder tokens differ: gaze %d, transformers %d" % (tt["gz"], tt["hf"]))
    for _ in range(a.warmup - 1):
        time_worker(gz)
    t = {"gz": [], "hf": []}
    c = {"gz": [], "hf": []}
    for r in range(a.repeats):
        for who in (["gz", "hf"] if r % 2 == 0 else ["hf", "gz"]):
            time.sleep(a.settle_ms / 1e3)
            ms, cpu = time_worker(gz if who == "gz" else hf)
            t[who].append(ms)
            c[who].append(cpu)
    gz_rss, _ = stop(gz)
    hf_rss, _ = stop(hf)
    load1 = os.getloadavg()
    med = {k: statistics.median(v) for k, v in t.items()}
    cmed = {k: statistics.median(v) for k, v in c.items()}
    speed, cspeed, mem = med["hf"] / med["gz"], cmed["hf"] / cmed["gz"], gz_rss / hf_rss
    cmd = " ".join(shlex.quote(x) for x in ["nice", "-n", "19", a.python, "bench/seq2seq.py"] + sys.argv[1:])
    L = []
    P = L.append
    P("## t5-small shape: %d source tokens, %d generated, full capture (%s)" %
      (a.src, a.gen, datetime.datetime.now().strftime("%Y-%m-%d %H:%M")))
    P("")
    P("`%s`" % cmd)
    P("")
    P("Machine: %s, %d logical CPUs, shared and loaded by other jobs (load average %.1f before / %.1f after), "
      "both workers under `nice -n 19`." % (cpu_name(), os.cpu_count() or 0, load0[0], load1[0]))
    P("Threads %d for both, OMP_WAIT_POLICY=%s. gaze: `%s`. transformers: `%s`." %
      (a.threads, a.omp_wait_policy, gz_ready, hf_ready))
    P("%d interleaved rounds (alternating order) after %d warm-up runs each, %.0f ms pause before each; "
      "%d decoder tokens on both sides." % (a.repeats, a.warmup, a.settle_ms, tt["gz"]))
    P("")
    P("| contender | median wall ms | min wall ms | median CPU ms | peak RSS MiB |")
    P("|---|---:|---:|---:|---:|")
    P("| transformers eager | %.1f | %.1f | %.1f | %.1f |" % (med["hf"], min(t["hf"]), cmed["hf"], hf_rss / 1024))
    P("| gaze (in-process) | %.1f | %.1f | %.1f | %.1f |" % (med["gz"], min(t["gz"]), cmed["gz"], gz_rss / 1024))
    P("")
    P("Speed (transformers / gaze): wall **%.2fx**, CPU **%.2fx**; peak memory (gaze / transformers): **%.2f**. "
      "Bar (issue 14): >= 1.5x faster and <= 0.5x the peak memory: speed %s, memory %s." %
      (speed, cspeed, mem, "met" if min(speed, cspeed) >= 1.5 else "NOT met" if max(speed, cspeed) < 1.5 else "met on one yardstick",
       "met" if mem <= 0.5 else "NOT met"))
    P("")
    P("Raw wall ms: gaze " + ", ".join("%.1f" % x for x in t["gz"]) + "; transformers " +
      ", ".join("%.1f" % x for x in t["hf"]) + ".")
    report = "\n".join(L) + "\n"
    print(report)
    if a.write:
        with open(a.write, "a", encoding="utf-8") as f:
            f.write("\n" + report)
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
