#!/usr/bin/env bash
# Attention benchmarks of issue 2, one command: prints a Markdown table and appends nothing.
#   bash bench/attention.sh > bench/results/attention.md
# Each line is one `gaze bench attention ... --json` run; the float64 reference (the baseline)
# is measured inside the same process where it fits in reasonable time.
set -euo pipefail
bin=${GAZE_BIN:-$(dirname "$0")/../build/bin/gaze}
run() { "$bin" bench attention "$@" --json; }
echo "# Attention benchmarks"
echo
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(date -u +%F)."
echo "Command: \`bash bench/attention.sh\` (each row: \`gaze bench attention FLAGS --json\`)."
echo "FLOPs: 4·B·H·Tq·Tk·d, halved when causal; window rows count only allowed pairs (useful FLOPs)."
echo
echo "| flags | ms | GFLOP/s | ref GFLOP/s (float64 oracle) | speed-up vs ref | extra MiB beyond Q/K/V/O | notes |"
echo "|---|---|---|---|---|---|---|"
row() {
  local flags="$1" note="$2"
  local j; j=$(run $flags)
  python3 - "$flags" "$note" "$j" <<'PY'
import json, sys
flags, note, j = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
ref = j["ref_gflops"]; sp = j["speedup_vs_ref"]
extra = f' dense {j["dense_ms"]:.1f} ms, window {j["speedup_vs_dense"]:.1f}x faster' if "dense_ms" in j else ""
print(f'| `{flags}` | {j["ms"]:.2f} | {j["gflops"]:.1f} | {ref if ref is not None else "n/a"} | '
      f'{sp if sp is not None else "n/a"} | {j["extra_mib"]:.1f} | {note}{extra} |')
PY
}
row "--heads 12 --seq 2048 --dim 64 --repeat 10" "bar: >= 140 GFLOP/s"
row "--heads 12 --seq 2048 --dim 64 --causal --repeat 10" "bar: >= 0.85x non-causal"
row "--heads 12 --seq 2048 --dim 64 --threads 1 --repeat 5 --no-ref" "one core"
row "--heads 8 --seq 2048 --dim 128 --repeat 10 --no-ref" ""
row "--heads 12 --seq 2048 --dim 80 --repeat 10 --no-ref" ""
row "--heads 12 --seq 2048 --dim 96 --repeat 10 --no-ref" ""
row "--heads 9 --kv-heads 3 --seq 2048 --dim 64 --causal --repeat 10 --no-ref" "GQA 3:1"
row "--heads 1 --seq 32768 --dim 64 --repeat 2 --no-ref" "bar: <= 64 MiB beyond Q/K/V/O"
row "--heads 1 --seq 16384 --dim 64 --causal --window 256 --compare-dense --repeat 3 --no-ref" "bar: >= 15x faster than dense causal"
row "--heads 12 --seq 1 --kv-seq 4096 --dim 64 --causal --repeat 20 --no-ref" "decode step (memory-bound)"
