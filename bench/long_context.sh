#!/usr/bin/env bash
# Long-context attention (issue 17): `gaze bench attention` against PyTorch CPU
# scaled_dot_product_attention (f32 and bf16) on the same shapes and threads, the cost of
# attention summaries in the same pass, then SmolLM2 on an 8k-token prompt with summaries of
# every head against capture off (time ratio and peak RSS).
#   bash bench/long_context.sh > bench/results/long_context.md
# Env: GAZE_BIN, PEER_PYTHON (default /work/venv-peers/bin/python; skipped when absent),
# THREADS (default 2), QUICK=1 (T up to 2048 only), SKIP_MODEL=1 (no SmolLM2 runs), LONG_TEXT (a text of >= 8192 SmolLM2 tokens;
# default: README + ARCHITECTURE + docs, truncated to the model's context).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${GAZE_BIN:-$here/../build/bin/gaze}
py=${PEER_PYTHON:-/work/venv-peers/bin/python}
th=${THREADS:-2}
echo "# Long-context attention"
echo
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%F)."
echo "Command: \`bash bench/long_context.sh\`; threads $th. gaze: \`gaze bench attention FLAGS --summary --no-ref --json\`;"
echo "peer: \`bench/sdpa_peer.py FLAGS\` (torch $($py -c 'import torch; print(torch.__version__)' 2>/dev/null || echo absent))."
echo
echo "| shape | gaze f32 ms | + summaries ms (ratio) | torch f32 ms | torch bf16 ms |"
echo "|---|---|---|---|---|"
row() {
  local flags="$1" rep="$2"
  local j; j=$("$bin" bench attention $flags --threads "$th" --repeat "$rep" --no-ref --summary --json)
  local t32="n/a" t16="n/a"
  if [ -x "$py" ]; then
    t32=$("$py" "$here/sdpa_peer.py" $flags --threads "$th" --repeat "$rep" --dtype f32 | python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["ms"])' || echo err)
    t16=$("$py" "$here/sdpa_peer.py" $flags --threads "$th" --repeat "$rep" --dtype bf16 | python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["ms"])' || echo err)
  fi
  python3 - "$flags" "$j" "$t32" "$t16" <<'PY'
import json, sys
flags, j, t32, t16 = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
print(f'| `{flags}` | {j["ms"]:.1f} | {j["summary_ms"]:.1f} ({j["summary_ratio"]:.2f}x) | {t32} | {t16} |')
PY
}
if [ "${QUICK:-0}" = 1 ]; then seqs="512 2048"; else seqs="512 2048 8192"; fi
for d in 64 128; do
  for T in $seqs; do
    rep=5; [ "$T" -ge 8192 ] && rep=1
    row "--heads 8 --seq $T --dim $d" $rep
    row "--heads 8 --seq $T --dim $d --causal" $rep
  done
done
row "--heads 32 --kv-heads 8 --seq 1 --kv-seq 4096 --dim 128 --causal" 10
row "--heads 32 --kv-heads 8 --seq 1 --kv-seq 32768 --dim 128 --causal" 3
row "--heads 8 --seq 16384 --dim 64 --causal --window 256" 2

# SmolLM2 on an 8k-token prompt: capture off against summaries of every head.
model=${SMOLLM2:-$HOME/.cache/gaze/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
text=${LONG_TEXT:-}
if [ -z "$text" ]; then text=$(mktemp); cat "$here/../README.md" "$here/../ARCHITECTURE.md" "$here"/../docs/*.md > "$text"; fi
out=$(mktemp -d)
measure() {   # measure NAME ARGS...: wall seconds and max RSS (KiB) of one gaze run
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$out/$name.time" "$bin" run "$model" -f "$text" --truncate --threads "$th" "$@" > "$out/$name.out" 2>&1
}
if [ -f "$model" ] && [ "${SKIP_MODEL:-0}" != 1 ]; then
  measure off --capture none
  measure sum --summary -o "$out/sum.safetensors"
  python3 - "$out" <<'PY'
import sys, re
d = sys.argv[1]
w0, r0 = map(float, open(f"{d}/off.time").read().split()[-2:])
w1, r1 = map(float, open(f"{d}/sum.time").read().split()[-2:])
toks = re.search(r"(\d+) tokens", open(f"{d}/sum.out").read()).group(1)
print()
print(f"SmolLM2-135M Q4_1, {toks} tokens, every layer and head summarised (top-8, 64x64 blocks, window 16):")
print()
print("| run | wall s | peak RSS MiB |")
print("|---|---|---|")
print(f"| capture off (`--capture none`) | {w0:.1f} | {r0/1024:.0f} |")
print(f"| summaries (`--summary -o`) | {w1:.1f} | {r1/1024:.0f} |")
print(f"| ratio | {w1/w0:.2f}x (bar <= 1.3x) | {r1/1024:.0f} MiB (bar <= 3072) |")
PY
fi
rm -rf "$out"
