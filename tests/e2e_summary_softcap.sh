#!/usr/bin/env bash
# End to end: attention summaries of a soft-capped model (Gemma 2: scores = c·tanh(s/c) before
# the softmax). The tiny gemma2 decoder fixture runs with --summary (once refused for capped
# layers) and with both summaries and full weights; the summaries' per-head max weight and
# sink mass (gaze heads) equal those of the captured weights, layer by layer
# and head by head (entropy from full weights is smoothed there; test_attn_summary checks the
# summaries' exact entropy against the probe).
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_summary_softcap stderr
e2e_need_bin

G2=$(cd "$(dirname "$0")" && pwd)/fixtures/decoders/gemma2
TEXT="Attention is all you need, said the paper, and the cat sat on the warm mat all day long."
run() {   # run NAME CMD...: must exit 0
    local name=$1
    shift
    if "$@" >"$tmp/$name.out" 2>&1; then ok; else bad "$name: exit $?"; sed 's/^/    /' "$tmp/$name.out" | head -20 >&2; fi
}
has() { if grep -qF -- "$2" "$tmp/$1.out"; then ok; else bad "$1: output lacks '$2'"; sed 's/^/    /' "$tmp/$1.out" | head -20 >&2; fi; }

run run_sum "$BIN" run "$G2" "$TEXT" --summary --summary-block 4 --summary-k 5 -o "$tmp/s.safetensors"
has run_sum "summaries: entropy, top-5 keys"
run show_sum "$BIN" show "$tmp/s.safetensors" --no-color --layer 1
has show_sum "summary  layer 1"
# the capped layers' summaries against their own full weights, from one run and from two
run run_both "$BIN" run "$G2" "$TEXT" --summary --capture attn -o "$tmp/b.safetensors"
run heads_full "$BIN" heads "$tmp/b.safetensors" --csv
run heads_sum "$BIN" heads "$tmp/s.safetensors" --csv
head -1 "$tmp/heads_full.out" >"$tmp/hdr"
check 'grep -q "max_weight" "$tmp/hdr" && grep -q "sink" "$tmp/hdr"' "heads --csv lacks max_weight / sink columns: $(cat "$tmp/hdr")"
cols=$(python3 - "$tmp/hdr" <<'PY'
import sys
h = open(sys.argv[1]).read().strip().split(",")
print(",".join(str(i + 1) for i, n in enumerate(h) if n in ("layer", "head", "max_weight", "sink")))
PY
)
cut -d, -f"$cols" "$tmp/heads_full.out" | grep -v '^gaze' >"$tmp/a.csv"
cut -d, -f"$cols" "$tmp/heads_sum.out" | grep -v '^gaze' >"$tmp/c.csv"
check 'cmp -s "$tmp/a.csv" "$tmp/c.csv" && [ "$(wc -l <"$tmp/a.csv")" -ge 9 ]' \
      "soft-capped summaries' max weight / sink differ from the full weights' own: $(diff "$tmp/a.csv" "$tmp/c.csv" | head -6 | tr '\n' ' ')"
e2e_finish
