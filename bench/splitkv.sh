#!/usr/bin/env bash
# Split-KV decoding against the head split, interleaved so that load on a shared machine
# falls on every configuration alike: ROUNDS rounds of {GAZE_ATTN_SPLIT_KV=0,1} x {1,2}
# threads, one `gaze bench attention --json` each; prints the per-run medians, then the mean
# and min of each configuration. Figures: bench/results/attention.md.
#   SHAPE="--seq 1 --kv-seq 32768 --heads 9 --kv-heads 3 --dim 64 --causal" ROUNDS=6 bash bench/splitkv.sh
set -u
G=${GAZE_BIN:-build/bin/gaze}
SHAPE=${SHAPE:---seq 1 --kv-seq 32768 --heads 9 --kv-heads 3 --dim 64 --causal}
out=$(for r in $(seq "${ROUNDS:-6}"); do
  for e in 0 1; do for t in 1 2; do
    ms=$(GAZE_ATTN_SPLIT_KV=$e "$G" bench attention $SHAPE --threads $t --repeat "${REP:-10}" --no-ref --json |
         sed -n 's/.*"ms":\([0-9.]*\).*/\1/p')
    echo "split=$e threads=$t ms=$ms"
  done; done
done)
printf '%s\n' "$out"
printf '%s\n' "$out" | awk '{ split($3, a, "="); k = $1 " " $2; v = a[2]; n[k]++; s[k] += v
                            if (!(k in mn) || v < mn[k]) mn[k] = v }
  END { for (k in n) printf "%s runs=%d mean_ms=%.2f min_ms=%.2f\n", k, n[k], s[k] / n[k], mn[k] }' | sort
