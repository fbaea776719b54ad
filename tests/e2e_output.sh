#!/usr/bin/env bash
# End to end: where gaze writes its outputs (core/output.c). A device node (made here, never the
# system's /dev/null) and a FIFO are written in place, a symlink's target is replaced, "-" is
# standard output with every message on stderr, an existing file keeps its mode, an output that
# cannot be written is refused before any model is loaded, leftovers of killed runs go, and
# Ctrl-C leaves no temporary file. Needs $GAZE_BIN and the fetched models (minilm, smollm2).
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_output stderr
e2e_need_bin
e2e_need_model minilm
G() { "$GAZE_BIN" "$@"; }
is_run() { G info "$1" 2>/dev/null | grep -q 'gaze run'; }
no_temps() { [ -z "$(find "$tmp" -name '*.tmp-*' -print -quit)" ]; }

# --- a character device node 1,3 (what /dev/null is), made in our folder: written in place
if mknod "$tmp/null.st" c 1 3 2>/dev/null; then
    G run minilm "hello world" -o "$tmp/null.st" >"$tmp/dev.out" 2>&1
    check '[ $? -eq 0 ]' "run -o device: exit code"
    check '[ -c "$tmp/null.st" ]' "run -o device: the device node was replaced by a regular file"
    G view minilm "hello world" -o "$tmp/null.st" >"$tmp/dev2.out" 2>&1
    check '[ $? -eq 0 ] && [ -c "$tmp/null.st" ]' "view -o device: replaced or failed"
    check no_temps "device: temporary file left"
    rm -f "$tmp/null.st"
elif [ "$(id -u)" = 0 ]; then
    bad "mknod failed as root"
else
    echo "e2e_output: device node not tested (not root)" >&2
fi

# --- a FIFO with a reader: streamed, the FIFO stays
mkfifo "$tmp/fifo"
cat "$tmp/fifo" >"$tmp/from_fifo.st" &
reader=$!
G run minilm "hello world" -o "$tmp/fifo" >"$tmp/fifo.out" 2>&1
check '[ $? -eq 0 ]' "run -o fifo: exit code"
wait $reader
check '[ -p "$tmp/fifo" ]' "run -o fifo: the FIFO was replaced"
check 'is_run "$tmp/from_fifo.st"' "run -o fifo: the reader did not get a run file"

# --- a symlink: followed, its target replaced, the link kept; the target's mode kept
mkdir "$tmp/real"
echo old >"$tmp/real/run.st"
chmod 600 "$tmp/real/run.st"
ln -s real/run.st "$tmp/link.st"
G run minilm "hello world" -o "$tmp/link.st" --quiet
check '[ $? -eq 0 ]' "run -o symlink: exit code"
check '[ -L "$tmp/link.st" ]' "run -o symlink: the link was replaced by a file"
check 'is_run "$tmp/real/run.st"' "run -o symlink: the target is not the new run file"
check '[ "$(stat -c %a "$tmp/real/run.st")" = 600 ]' "run: the existing file's mode 600 became $(stat -c %a "$tmp/real/run.st")"

# --- standard output: the data alone on stdout, the summary on stderr
G run minilm "hello world" -o - >"$tmp/stdout.st" 2>"$tmp/stdout.err"
check '[ $? -eq 0 ]' "run -o -: exit code"
check 'is_run "$tmp/stdout.st"' "run -o -: stdout is not a valid run file"
check 'grep -q "captured" "$tmp/stdout.err"' "run -o -: the summary is not on stderr"
check '[ ! -e ./- ] && [ ! -e "$tmp/-" ]' "run -o -: a file named - was written"
G run minilm "hello world" -o /dev/stdout >"$tmp/devstdout.st" 2>/dev/null
check 'is_run "$tmp/devstdout.st"' "run -o /dev/stdout: stdout is not a valid run file"
G run minilm "hello world" -o /dev/fd/3 --quiet 3>"$tmp/fd3.st"
check 'is_run "$tmp/fd3.st"' "run -o /dev/fd/3: the open file did not get the run file"
G run minilm "hello world" -o /dev/stderr --quiet 2>&1 >/dev/null | cat >"$tmp/stderr.st"
check 'is_run "$tmp/stderr.st"' "run -o /dev/stderr (a pipe): no run file"
G view minilm "hello world" -o - >"$tmp/stdout.html" 2>"$tmp/view.err"
check '[ $? -eq 0 ]' "view -o -: exit code"
check '[ "$(head -c 15 "$tmp/stdout.html")" = "<!DOCTYPE html>" ] && tail -c 20 "$tmp/stdout.html" | grep -q "</html>"' \
      "view -o -: stdout is not just the HTML page"
check 'grep -q "^wrote" "$tmp/view.err"' "view -o -: the summary is not on stderr"

# --- outputs that cannot be written: refused before the model is loaded (the model does not
# even exist here, so a message about the output proves the order), exit code 1
nomodel="$tmp/no-such-model"
bad_out="$tmp/no/such/folder/out"
refused() {   # refused NAME CMD...: exit 1, "cannot create ...: No such file or directory"
    local name=$1; shift
    "$@" >"$tmp/$name.out" 2>&1
    local rc=$?
    if [ $rc -eq 1 ] && grep -q "cannot create .*/no/such/folder/out.*: No such file or directory" "$tmp/$name.out" \
        && ! grep -q "GAZE_ERR" "$tmp/$name.out"; then ok
    else bad "$name: exit $rc, want 1 and a message about the output"; sed 's/^/    /' "$tmp/$name.out" | head -5 >&2; fi
}
refused run     G run "$nomodel" "x" -o "$bad_out.st"
refused view    G view "$nomodel" "x" -o "$bad_out.html"
refused plot    G plot "$nomodel" "x" -o "$bad_out.png"
refused heads   G heads "$nomodel" "x" --grid entropy --grid-plot "$bad_out.png"
refused diff    G diff "$nomodel" "a" "b" --plot "$bad_out.png" --layer 0
refused rollout G rollout "$nomodel" "x" --plot "$bad_out.png"
refused flow    G flow "$nomodel" "x" --plot "$bad_out.png"
refused ablate  G ablate "$nomodel" "x" --grid --grid-plot "$bad_out.png"
echo "a line" >"$tmp/lines.txt"
refused corpus  G corpus "$nomodel" "$tmp/lines.txt" -o "$bad_out.json"
refused merge   G merge "$tmp/no-such-part.json" -o "$bad_out.json"
G run "$nomodel" "x" -o "$tmp" >"$tmp/dir.out" 2>&1
check '[ $? -eq 1 ] && grep -q "cannot write .*: Is a directory" "$tmp/dir.out"' "run -o DIR: not refused as a directory"
if [ "$(id -u)" != 0 ]; then   # root may write into a read-only folder
    mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
    G run "$nomodel" "x" -o "$tmp/ro/x.st" >"$tmp/ro.out" 2>&1
    check '[ $? -eq 1 ] && grep -q "Permission denied" "$tmp/ro.out"' "run -o read-only folder: not refused"
fi

# --- leftovers of a killed run are removed by the next write to that path
sh -c 'exit 0' & dead=$!
wait $dead
echo partial >"$tmp/left.st.tmp-$dead-0"
echo keep >"$tmp/other.st.tmp-$dead-0"
G run minilm "hello" -o "$tmp/left.st" --quiet
check '[ ! -e "$tmp/left.st.tmp-$dead-0" ]' "stale temporary of dead process $dead not removed"
check '[ -e "$tmp/other.st.tmp-$dead-0" ]' "another file's temporary was removed"
rm -f "$tmp/other.st.tmp-$dead-0"

# --- Ctrl-C: "gaze: interrupted", exit 130, no temporary file, no half-written output
long=$(python3 -c "print(' '.join(['The cat sat on the mat because it was tired.'] * 120))")
set -m   # job control: background jobs do not start with SIGINT ignored
"$GAZE_BIN" view smollm2 "$long" -o "$tmp/long.html" 2>"$tmp/int.err" &
job=$!
sleep 2
if kill -0 $job 2>/dev/null; then
    kill -INT $job
    wait $job
    rc=$?
    check '[ $rc -eq 130 ]' "SIGINT: exit $rc, want 130"
    check 'grep -q "gaze: interrupted" "$tmp/int.err"' "SIGINT: no 'gaze: interrupted' message"
    check '[ ! -e "$tmp/long.html" ] && no_temps' "SIGINT: output or temporary left"
else
    wait $job
    bad "SIGINT: the view finished within 2 s; make the job longer"
fi
# the corpus saves what it has on Ctrl-C (through the same writer): valid JSON, no temporary
for i in $(seq 400); do echo "line $i: the quick brown fox jumps over the lazy dog"; done >"$tmp/corpus.txt"
"$GAZE_BIN" corpus minilm "$tmp/corpus.txt" -o "$tmp/stats.json" --checkpoint 1 --quiet >/dev/null 2>&1 &
job=$!
sleep 3
kill -INT $job 2>/dev/null
wait $job
rc=$?
check '[ $rc -eq 130 ] || [ $rc -eq 0 ]' "corpus SIGINT: exit $rc"
check 'python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$tmp/stats.json"' "corpus SIGINT: stats.json is not valid JSON"
check no_temps "corpus SIGINT: temporary left"
set +m

e2e_finish
