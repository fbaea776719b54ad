#!/usr/bin/env bash
# End to end: `gaze run --max-memory` refuses a run whose estimate is above the budget, before
# computing anything, with the estimate and the ways out in the message; accepts K/M/G sizes and
# rejects malformed ones. Needs $GAZE_BIN (ctest sets it) and the fetched smollm2.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_memory stderr

prompt=$(for i in $(seq 40); do printf 'The quick brown fox jumps over the lazy dog near the river bank. '; done)

# ~560 tokens, every layer and head: ~340 MiB of attention, refused under 10M at once
start=$(date +%s%N)
"$GAZE_BIN" run smollm2 "$prompt" --max-memory 10M -o "$tmp/long.safetensors" >"$tmp/long.out" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then bad "--max-memory 10M: exit $rc, want 1..127"; else ok; fi
if grep -q "needs about" "$tmp/long.out" && grep -q "10.0 MiB" "$tmp/long.out" && grep -q -- "--layers" "$tmp/long.out"; then ok
else bad "--max-memory 10M: message lacks the estimate, the budget or the ways out:"; sed 's/^/    /' "$tmp/long.out" >&2; fi
if [ -e "$tmp/long.safetensors" ]; then bad "a refused run wrote its file"; else ok; fi
echo "refused in ${ms} ms (model load included): $(head -c 400 "$tmp/long.out")"

# the same prompt with one layer and head fits in 64M
if "$GAZE_BIN" run smollm2 "$prompt" --layers 3 --heads 0 --max-memory 64M --quiet -o "$tmp/small.safetensors" >"$tmp/small.out" 2>&1 \
   && [ -s "$tmp/small.safetensors" ]; then ok
else bad "--layers 3 --heads 0 --max-memory 64M failed:"; sed 's/^/    /' "$tmp/small.out" >&2; fi

# malformed sizes: usage error (exit 2)
for v in 10X abc -5 0 ""; do
    "$GAZE_BIN" run smollm2 "hi" --max-memory "$v" >"$tmp/bad.out" 2>&1
    rc=$?
    if [ $rc -eq 2 ] && grep -q "max-memory" "$tmp/bad.out"; then ok; else bad "--max-memory '$v': exit $rc"; fi
done

e2e_finish
