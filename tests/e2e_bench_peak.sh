#!/usr/bin/env bash
# `gaze bench attention --json` reports peak_mib of its own process only. getrusage's
# ru_maxrss survives exec, so launched from a parent that has touched ~300 MB it used to
# report the parent's 300+ MiB; VmHWM of /proc/self/status does not carry over.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_bench_peak

args=(bench attention --seq 64 --kv-seq 64 --heads 2 --dim 32 --repeat 2 --no-ref --json)
# The parent writes 300 MiB (every page touched), then becomes gaze with exec.
out=$(python3 -c '
import os, sys
b = bytearray(b"\x01") * (300 << 20)
os.execv(sys.argv[1], sys.argv[1:])' "$BIN" "${args[@]}" 2>&1); rc=$?
if [ "$rc" = 0 ]; then ok; else bad "bench attention exit code $rc: $out"; fi
peak=$(sed -n 's/.*"peak_mib":\([0-9.]*\).*/\1/p' <<<"$out")
if [ -n "$peak" ]; then ok; else bad "no peak_mib in: $out"; fi
# A small problem: gaze itself stays far under the parent's 300 MiB.
if [ -n "$peak" ] && awk -v p="$peak" 'BEGIN { exit !(p > 0 && p < 100) }'; then ok
else bad "peak_mib = '$peak' after exec from a 300 MiB parent (want 0 < peak < 100)"; fi

# The same run started directly: a positive peak, not above what the exec'd run saw + slack.
out=$("$BIN" "${args[@]}" 2>&1); rc=$?
if [ "$rc" = 0 ]; then ok; else bad "direct run exit code $rc"; fi
peak2=$(sed -n 's/.*"peak_mib":\([0-9.]*\).*/\1/p' <<<"$out")
if [ -n "$peak2" ] && awk -v p="$peak2" 'BEGIN { exit !(p > 0 && p < 100) }'; then ok
else bad "direct peak_mib = '$peak2'"; fi
# min_ms: the fastest of the timed runs, so positive and not above the median ms.
ms=$(sed -n 's/.*"ms":\([0-9.]*\).*/\1/p' <<<"$out"); mn=$(sed -n 's/.*"min_ms":\([0-9.]*\).*/\1/p' <<<"$out")
if [ -n "$ms" ] && [ -n "$mn" ] && awk -v a="$mn" -v b="$ms" 'BEGIN { exit !(a > 0 && a <= b) }'; then ok
else bad "min_ms = '$mn', ms = '$ms' (want 0 < min_ms <= ms)"; fi

e2e_finish
