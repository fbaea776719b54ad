#!/usr/bin/env bash
# Help is output, not an error: `gaze help`, `gaze help COMMAND` and `gaze COMMAND --help` print
# to stdout with exit code 0 for every command (bench too), and say each flag's default; usage
# mistakes still go to stderr with exit code 2. -q is accepted wherever --quiet is.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_cli_help

commands="demo bench run show plot info fetch heads rollout flow diff corpus merge ablate view explain evaluate bias"

# helps NAME ARGS...: exit 0, usage on stdout, nothing on stderr
helps() {
    local name=$1
    shift
    "$BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ $rc -ne 0 ]; then bad "$name: exit $rc, want 0 ($(head -c 200 "$tmp/err"))"; return 1; fi
    if ! grep -q "usage: gaze" "$tmp/out"; then bad "$name: no usage on stdout"; return 1; fi
    if [ -s "$tmp/err" ]; then bad "$name: wrote to stderr: $(head -c 200 "$tmp/err")"; return 1; fi
    ok
}

helps help help
helps help_top --help
for c in $commands; do
    helps "$c --help" "$c" --help
    cp "$tmp/out" "$tmp/$c.help"
    helps "help $c" help "$c"
    if cmp -s "$tmp/out" "$tmp/$c.help"; then ok; else bad "gaze help $c differs from gaze $c --help"; fi
done
helps "bench -h" bench -h

# every flag's default is in the help (a sample of those that were missing)
has() { if grep -qF -- "$3" "$tmp/$1.help"; then ok; else bad "$1 --help: lacks '$3' ($2)"; fi; }
has run "greedy decoding" "default: 0 = greedy decoding"
has run "max-len default" "default: the model's position count"
has run "f16" "--f16            store the tensors as float16"
has run "truncate" "default: refuse it with an error"
has run "-q" "-q, --quiet"
has run "-f" "-f FILE"
has show "layer -1" "-1 = the last"
has show "head mean" "(default: mean)"
has plot "vmax" "(default: the maximum drawn)"
has plot "layer" "default: the last captured layer"
has heads "broad" "(default: 0.78)"
has rollout "discard" "(default: 0)"
has corpus "-q" "-q, --quiet"
has bench "seq" "(default: 2048)"
has view "max-mb" "(default: 40)"
has ablate "top" "(default: 20)"

# usage mistakes: stderr, exit 2, nothing on stdout
for c in run show plot heads rollout flow diff corpus merge ablate view; do
    "$BIN" "$c" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 2 ] && [ -s "$tmp/err" ] && [ ! -s "$tmp/out" ]; then ok; else bad "gaze $c (no args): rc $rc, want 2 with usage on stderr only"; fi
done
"$BIN" help frobnicate >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown command" "$tmp/err"; then ok; else bad "gaze help frobnicate: rc $rc"; fi

# -q is --quiet
if [ -d "$MODELS/minilm" ]; then
    out=$("$BIN" run minilm "the cat" -q -o "$tmp/r.safetensors" 2>&1); rc=$?
    if [ $rc -eq 0 ] && [ -z "$out" ] && [ -s "$tmp/r.safetensors" ]; then ok; else bad "run -q: rc $rc, output '$out'"; fi
    printf 'the cat sat\n' >"$tmp/c.txt"
    out=$("$BIN" corpus minilm "$tmp/c.txt" -q -o "$tmp/s.json" 2>&1 >/dev/null); rc=$?
    if [ $rc -eq 0 ] && [ -z "$out" ] && [ -s "$tmp/s.json" ]; then ok; else bad "corpus -q: rc $rc, stderr '$out'"; fi
else
    bad "minilm is not fetched ($MODELS/minilm): run scripts/fetch-test-models"
fi

e2e_finish
