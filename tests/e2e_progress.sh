#!/usr/bin/env bash
# End to end: long jobs draw one progress line (\r, a count, a rate in items/s, an ETA) on a
# terminal and nothing at all when stderr is piped: ablate, heads --induction, flow, view's
# flow, corpus, model load. The terminal is a pseudo-terminal made by util-linux `script`.
# `gaze run --generate` streams the generated text to stdout, flushed token by token, and the
# stream is exactly the generated tokens' text as the run file records them; --quiet stops it.
# Needs $GAZE_BIN (ctest sets it), `script` (bsdutils) and the fetched minilm and smollm2.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_progress stderr
show() { sed 's/^/    /' "$1" | tr '\r' '\n' | head -${2:-12} >&2; }

e2e_need_bin
if ! command -v script >/dev/null; then bad "'script' (util-linux, Debian bsdutils) is not installed: scripts/install-deps"; e2e_finish; fi
e2e_need_model minilm smollm2
GAZE_BIN=$(cd "$(dirname "$GAZE_BIN")" && pwd)/$(basename "$GAZE_BIN")
q() { printf '%q ' "$@"; }   # a command line for script -c, each argument quoted

# tty NAME CMD...: CMD on a pseudo-terminal (stdout and stderr both), output in $tmp/NAME.tty;
# piped NAME CMD...: CMD with stdout and stderr to files ($tmp/NAME.out, $tmp/NAME.err)
tty() {
    local name=$1
    shift
    script -qfec "$(q "$@")" /dev/null </dev/null >"$tmp/$name.tty" 2>&1
    local rc=$?
    if [ $rc -ne 0 ]; then bad "$name (terminal): exit $rc"; show "$tmp/$name.tty"; fi
}
piped() {
    local name=$1
    shift
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
    local rc=$?
    if [ $rc -ne 0 ]; then bad "$name (piped): exit $rc"; show "$tmp/$name.err"; fi
}

# progress NAME LABEL WHAT: on the terminal, a line "\rLABEL: [...] d/N WHAT  R WHAT/s  ETA ..."
# with a measured rate; piped, nothing of it on stderr (no \r, no rate, no ETA)
progress() {
    local name=$1 label=$2 what=$3
    if grep -qaP "\r\Q$label\E: (\[[# ]{20}\] )?[0-9]+/[0-9]+ \Q$what\E  [0-9][0-9.]* \Q$what\E/s  ETA [0-9]" "$tmp/$name.tty"; then ok
    else bad "$name: no progress line '$label: [...] n/N $what  R $what/s  ETA t' on the terminal"; show "$tmp/$name.tty"; fi
    # the line is cleared at the end: the last \r-separated segment before the result is blank
    if grep -qaP "\r {20,}\r" "$tmp/$name.tty"; then ok; else bad "$name: the progress line is not cleared"; fi
    if [ -s "$tmp/$name.err" ] && grep -qaP "\r|/s  ETA|\Q$what\E/s" "$tmp/$name.err"; then
        bad "$name: progress written to a pipe"; show "$tmp/$name.err"
    else ok; fi
}

text="The quick brown fox jumps over the lazy dog because it wanted to see the river."

tty ablate "$GAZE_BIN" ablate minilm "$text" --layers 0 --top 3
piped ablate "$GAZE_BIN" ablate minilm "$text" --layers 0 --top 3
progress ablate "gaze ablate" heads
if grep -qF "rank layer head" "$tmp/ablate.out" && [ ! -s "$tmp/ablate.err" ]; then ok; else bad "ablate: piped output wrong or stderr not empty"; show "$tmp/ablate.err"; fi

tty induction "$GAZE_BIN" heads --induction minilm --seq-len 20 --batch 3
piped induction "$GAZE_BIN" heads --induction minilm --seq-len 20 --batch 3
progress induction "gaze heads --induction" sequences

tty flow "$GAZE_BIN" flow minilm "$text"
piped flow "$GAZE_BIN" flow minilm "$text"
progress flow "gaze flow" max-flows

tty view "$GAZE_BIN" view minilm "$text" -o "$tmp/v.html" --flow-token 0,5
piped view "$GAZE_BIN" view minilm "$text" -o "$tmp/v2.html" --flow-token 0,5
progress view "gaze view: attention flow" max-flows

printf 'The first document.\nThe second one, a little longer.\n\nA third line here.\n' >"$tmp/corpus.txt"
tty corpus "$GAZE_BIN" corpus minilm "$tmp/corpus.txt"
piped corpus "$GAZE_BIN" corpus minilm "$tmp/corpus.txt"
progress corpus "gaze corpus" lines

# ---- generation streams ---------------------------------------------------------------------
prompt="The capital of France is"
# stdout to a file (not a terminal: the stream goes there too), polled while gaze runs: the
# text must show before the process ends (flushed per token, not at exit)
"$GAZE_BIN" run smollm2 "$prompt" --generate 24 -o "$tmp/gen24.safetensors" >"$tmp/gen24.out" 2>"$tmp/gen24.err" &
pid=$!
early=0
while kill -0 $pid 2>/dev/null; do
    if [ -s "$tmp/gen24.out" ] && ! grep -qF "generated)" "$tmp/gen24.out"; then early=1; fi
    sleep 0.02
done
wait $pid
rc=$?
if [ $rc -eq 0 ]; then ok; else bad "run --generate 24: exit $rc"; show "$tmp/gen24.err"; fi
if [ $early = 1 ]; then ok; else bad "run --generate 24: nothing on stdout before the run ended (not streamed)"; show "$tmp/gen24.out"; fi

piped gen "$GAZE_BIN" run smollm2 "$prompt" --generate 16 -o "$tmp/gen.safetensors"
# the stream is stdout up to the summary line: exactly the generated tokens' text, in order
python3 - "$tmp/gen.safetensors" "$tmp/gen.out" <<'EOF'
import json, struct, sys
buf = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", buf[:8])
meta = json.loads(buf[8:8 + n].decode("utf-8"))["__metadata__"]
toks, g = json.loads(meta["gaze.tokens"]), int(meta["gaze.n_generated"])
want = "".join(toks[len(toks) - g:])
out = open(sys.argv[2], encoding="utf-8").read()
cut = out.find("\n/")                  # the summary starts with the model path
if g != 16 or cut < 0:
    print("check: FAIL: %d generated, summary at %d" % (g, cut)); sys.exit(1)
stream = out[:cut + 1]
if not want.endswith("\n"): want += "\n"   # gaze ends the stream with a newline
if stream != want:
    print("check: FAIL: stream %r != generated tokens %r" % (stream, want)); sys.exit(1)
print("check: stream = %r" % stream)
EOF
if [ $? -eq 0 ]; then ok; else bad "run --generate 16: the stream is not the generated text"; show "$tmp/gen.out"; fi

piped quiet "$GAZE_BIN" run smollm2 "$prompt" --generate 4 --quiet -o "$tmp/q.safetensors"
if [ ! -s "$tmp/quiet.out" ] && [ ! -s "$tmp/quiet.err" ]; then ok; else bad "run --quiet: output"; show "$tmp/quiet.out"; fi

tty gentty "$GAZE_BIN" run smollm2 "$prompt" --generate 4
if grep -qaF " Paris" "$tmp/gentty.tty"; then ok; else bad "run on a terminal: no stream"; show "$tmp/gentty.tty"; fi
progress gentty "gaze run: loading" MiB      # loading a GGUF: MiB checked and prepared
# nothing but the stream before the summary on stdout when piped (the loading line is stderr's)
if [ ! -s "$tmp/gen.err" ]; then ok; else bad "run piped: stderr not empty"; show "$tmp/gen.err"; fi

e2e_finish
