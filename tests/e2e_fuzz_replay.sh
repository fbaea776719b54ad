#!/usr/bin/env bash
# The fuzz targets in CI (issue 7, R2/R3 of reliability.md): builds every libFuzzer target with
# clang (ASan + UBSan), replays every committed input once (tests/fuzz/corpus/*, regressions/*),
# then fuzzes each target from its corpus with seed 1 for $GAZE_FUZZ_E2E_RUNS inputs (default
# 2000; fuzz_render a twentieth), $GAZE_FUZZ_E2E_SECONDS (default 120) being only a safety cap.
# Any crash, sanitizer report, leak, timeout or out-of-memory fails the test. A missing clang or
# libFuzzer runtime is a FAILURE, never a skip (Debian: clang, libclang-rt-14-dev, libomp-14-dev,
# libxml2-dev).
# The WordPiece target needs $GAZE_HOME/models/minilm (scripts/fetch-test-models).
set -uo pipefail
ROOT="${GAZE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$ROOT"
# Deterministic in CI: a fixed seed and a fixed number of executions per target (time only as a
# safety cap), so a green run on one machine is green on the next; long random campaigns are
# scripts/fuzz --campaign, recorded in tests/fuzz/RESULTS.md.
secs="${GAZE_FUZZ_E2E_SECONDS:-120}"
runs="${GAZE_FUZZ_E2E_RUNS:-2000}"
# One fuzz build for the tree (build-fuzz/, the objects cached), shared by `make test` and
# `make asan`: the second suite only relinks. A lock keeps two suites from building it at once.
export GAZE_FUZZ_BUILD="${GAZE_FUZZ_BUILD:-$ROOT/build-fuzz}"
mkdir -p "$GAZE_FUZZ_BUILD"
if command -v flock >/dev/null && [ -z "${GAZE_FUZZ_LOCKED:-}" ]; then
    export GAZE_FUZZ_LOCKED=1
    exec flock "$GAZE_FUZZ_BUILD/.e2e.lock" bash "$0" "$@"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GAZE_FUZZ_WORK="$work"

fail=0
if ! command -v clang >/dev/null; then
    echo "FAIL: clang not found: the fuzz targets cannot be built (install clang, libclang-rt-14-dev, libomp-14-dev, libxml2-dev)" >&2
    echo "e2e_fuzz_replay: 0 passed, 1 failed"
    exit 1
fi
if ! scripts/fuzz --build; then
    echo "FAIL: building the fuzz targets failed (see above)" >&2
    echo "e2e_fuzz_replay: 0 passed, 1 failed"
    exit 1
fi

pass=0
n_targets=0
for t in $(scripts/fuzz --list); do
    n_targets=$((n_targets + 1))
    if GAZE_FUZZ_NO_BUILD=1 scripts/fuzz --replay "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
[ "$n_targets" -ge 13 ] || { echo "FAIL: only $n_targets fuzz targets" >&2; fail=$((fail + 1)); }

for t in $(scripts/fuzz --list); do
    log="$work/$t.log"
    n="$runs"
    [ "$t" = fuzz_render ] && n=$((runs / 20))   # each input renders a page, a figure and a heatmap
    if GAZE_FUZZ_NO_BUILD=1 scripts/fuzz "$t" "$secs" -seed=1 -runs="$n" >"$log" 2>&1; then
        execs="$(grep -oE 'stat::number_of_executed_units:[[:space:]]*[0-9]+' "$log" | grep -oE '[0-9]+$')"
        if [ -n "$execs" ] && [ "$execs" -gt 0 ]; then
            echo "fuzz $t: seed 1, $execs executions, ok"
            pass=$((pass + 1))
        else
            echo "FAIL: fuzz $t ran no input" >&2; tail -n 20 "$log" >&2; fail=$((fail + 1))
        fi
    else
        echo "FAIL: fuzz $t found a problem (seed 1, $n runs):" >&2
        grep -E "ERROR|SUMMARY|invariant|runtime error|deadly|Test unit written|#[0-9]+ 0x" "$log" | head -n 40 >&2
        fail=$((fail + 1))
    fi
done
echo "e2e_fuzz_replay: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
