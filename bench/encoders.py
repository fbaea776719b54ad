#!/usr/bin/env python3
"""gaze vs Hugging Face transformers on a RoBERTa of roberta-base's shape, CPU, 128 tokens, full capture.

The model: RobertaModel of roberta-base's config (12 layers, hidden 768, 12 heads, FFN 3072, 50265-token
embedding table, 514 positions) with transformers' random initialisation (seeded), saved to a
temporary folder with the byte-level BPE of tests/fixtures/encoders/roberta (a smaller vocabulary
than the table, which both sides accept). Random weights of the real shape time the same work.

Measured in one run, interleaved (each round times every contender once, in rotating order),
median of --repeats rounds after --warmup runs each:

  gaze (in-process)  build/bench/bench_bert --serve: model loaded once; times gaze_model_run =
                     tokenize + forward + exact attention of every layer, head and row + embedding
  HF transformers    RobertaModel (attn_implementation="eager", add_pooling_layer=False), CPU,
                     torch.set_num_threads(THREADS), output_attentions=True, inference_mode;
                     times tokenizer + forward in-process (model loaded once)

Peak memory: each contender is its own process; its peak RSS is ru_maxrss from os.wait4().
Nothing is subtracted: HF's includes Python + torch.

    /work/venv-peers/bin/python bench/encoders.py [--write bench/results/encoders.md]

Build first (bench_bert): cmake --build build -j2
"""
import argparse
import datetime
import os
import shlex
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_vs_hf  # noqa: E402
from bert_vs_hf import cpu_name, start, stop, time_worker  # noqa: E402  (the shared worker protocol)

# bert_vs_hf's worker (load, warm-up, "ready", a timed tokenizer + forward per stdin line, peak
# RSS) with RobertaModel in place of BertModel
HF_WORKER = bert_vs_hf.HF_WORKER.replace("BertModel", "RobertaModel")
assert "RobertaModel.from_pretrained(folder" in HF_WORKER

WORDS = ("attention heads read every token of a sentence and mix their values with weights that we "
         "can inspect to see which words matter for the model").split()


def make_model(folder, root):
    """Runs in its own process (--make-model): a worker forked from a process that held the model
    would start with its peak RSS (Linux carries ru_maxrss over fork and exec)."""
    import shutil
    import torch
    from transformers import RobertaConfig, RobertaModel
    torch.manual_seed(0)
    RobertaModel(RobertaConfig(max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5),
                 add_pooling_layer=False).eval().save_pretrained(folder, safe_serialization=True)
    fx = os.path.join(root, "tests", "fixtures", "encoders", "roberta")
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"):
        shutil.copy(os.path.join(fx, f), folder)


def make_text(folder, n_tokens):
    """Words until the HF tokenization (with <s> and </s>) has exactly n_tokens."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    text, i = "", 0
    while len(tok.encode(text).ids) < n_tokens:
        cand = (text + " " + WORDS[i % len(WORDS)]).strip()
        if len(tok.encode(cand).ids) > n_tokens:
            cand = text + " a"   # "Ġa": one token
        text, i = cand, i + 1
    assert len(tok.encode(text).ids) == n_tokens, "cannot make a %d-token text" % n_tokens
    return text


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(root, "build"))
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--omp-wait-policy", choices=["active", "passive"], default="passive",
                    help="OMP_WAIT_POLICY for both (default passive: a loaded shared machine; see bench/results/bert.md)")
    ap.add_argument("--settle-ms", type=float, default=300)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--write", metavar="MD")
    ap.add_argument("--make-model", metavar="DIR", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.make_model:
        make_model(a.make_model, root)
        return
    bench = os.path.join(a.build, "bench", "bench_bert")
    if not os.access(bench, os.X_OK):
        sys.exit("%s missing: build first" % bench)
    tmp = tempfile.mkdtemp(prefix="gaze_bench_enc_")
    folder = os.path.join(tmp, "roberta-base-shape")
    import subprocess
    subprocess.run([a.python, os.path.abspath(__file__), "--make-model", folder], check=True)
    text = make_text(folder, a.tokens)
    text_file = os.path.join(tmp, "text.txt")
    with open(text_file, "w", encoding="utf-8") as f:
        f.write(text)
    env = dict(os.environ, GAZE_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads), OMP_WAIT_POLICY=a.omp_wait_policy)
    load0 = os.getloadavg()
    gz, gz_ready = start([bench, "--serve", "--model", folder, "--text-file", text_file, "--threads", str(a.threads),
                          "--warmup", str(a.warmup)], env)
    hf, hf_ready = start([a.python, "-c", HF_WORKER, folder, str(a.threads), text_file, str(a.warmup)], env)
    for label, line in (("gaze", gz_ready), ("hf", hf_ready)):
        if int(line.split()[1].split("=")[1]) != a.tokens:
            sys.exit("%s: %s, not %d tokens" % (label, line, a.tokens))
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
    speed, mem = med["hf"] / med["gz"], gz_rss / hf_rss
    cmd = " ".join(shlex.quote(x) for x in ["nice", "-n", "19", a.python, "bench/encoders.py"] + sys.argv[1:])
    L = []
    P = L.append
    P("# Encoders benchmark: gaze vs HF transformers (RoBERTa-base shape, random weights, CPU, %d tokens, full capture)" % a.tokens)
    P("")
    P("Generated by `bench/encoders.py` on %s: `%s`." % (datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), cmd))
    P("")
    P("**Indicative only**: a shared machine (%s, %d logical CPUs) under other jobs, load average %.1f before / "
      "%.1f after; run under `nice -n 19`." % (cpu_name(), os.cpu_count() or 0, load0[0], load1[0]))
    P("")
    P("- Model: `RobertaModel` of roberta-base's config, seeded random weights (12 layers, 768, 12 heads, FFN 3072, "
      "vocab 50265, 514 positions), F32 safetensors; tokenizer of tests/fixtures/encoders/roberta.")
    P("- Threads %d for both, OMP_WAIT_POLICY=%s for both. gaze: %s. HF: %s, eager, output_attentions=True, "
      "inference_mode, tokenizer + forward timed." % (a.threads, a.omp_wait_policy, gz_ready.split(" ", 2)[2],
                                                      hf_ready.split(" ", 2)[2]))
    P("- gaze: `build/bench/bench_bert --serve` (gaze_model_run: tokenize + forward + exact attention of all "
      "12 layers x 12 heads x all rows + embedding, in memory).")
    P("- %d interleaved rounds (alternating order) after %d warm-up runs each, %.0f ms pause before each." %
      (a.repeats, a.warmup, a.settle_ms))
    P("")
    P("| contender | median ms | min ms | CPU ms (median) | peak RSS MiB |")
    P("|---|---:|---:|---:|---:|")
    P("| HF transformers (eager) | %.1f | %.1f | %.1f | %.1f |" % (med["hf"], min(t["hf"]), cmed["hf"], hf_rss / 1024))
    P("| gaze (in-process) | %.1f | %.1f | %.1f | %.1f |" % (med["gz"], min(t["gz"]), cmed["gz"], gz_rss / 1024))
    P("")
    P("Speed ratio (HF / gaze, wall medians): **%.2fx**; peak memory ratio (gaze / HF): **%.2f**. "
      "Bar (issue 14): >= 1.5x faster and <= 0.5x the peak memory: speed %s, memory %s." %
      (speed, mem, "met" if speed >= 1.5 else "NOT met", "met" if mem <= 0.5 else "NOT met"))
    P("")
    P("Raw wall times (ms): gaze " + ", ".join("%.1f" % x for x in t["gz"]) + "; HF " +
      ", ".join("%.1f" % x for x in t["hf"]) + ".")
    report = "\n".join(L) + "\n"
    print(report)
    if a.write:
        with open(a.write, "w", encoding="utf-8") as f:
            f.write(report)
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
