#!/usr/bin/env bash
# End to end: gaze corpus --shard over a batch scheduler and gaze merge's checks (MiniLM, a
# 40-line corpus with empty lines, CRLF lines and no final newline). --shard auto from a Slurm
# job array (--array=1-4: IDs from 1) and from GAZE_SHARD/GAZE_SHARDS (which win over Slurm's);
# each shard records its byte range [i*size/n, (i+1)*size/n) and the input's identity; the merge
# of the shards equals the unsharded run to 1e-9; merge refuses duplicate, missing, unfinished,
# mixed-count and other-input shards, naming them (--allow-partial merges anyway); a shard
# resumes at its recorded byte offset; files of an older gaze still merge (with a note) and resume.
# Needs $GAZE_BIN, python3 and the fetched MiniLM.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_shards stderr

e2e_need_bin
e2e_need_model minilm
GAZE_BIN=$(cd "$(dirname "$GAZE_BIN")" && pwd)/$(basename "$GAZE_BIN")
# no scheduler variables from the environment this test runs in
unset GAZE_SHARD GAZE_SHARDS SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_MAX SLURM_ARRAY_TASK_STEP
cd "$tmp" || exit 1
C() { "$GAZE_BIN" corpus minilm c.txt --max-len 12 --threads 1 "$@"; }

python3 - <<'EOF'
import random
random.seed(7)
words = "the cat sat on a mat while dogs ran across green fields and birds sang in tall old trees".split()
lines = []
for i in range(40):
    if i % 9 == 4:
        lines.append("")
        continue
    l = " ".join(random.choice(words) for _ in range(random.randint(1, 17)))
    lines.append(l + ("\r" if i % 7 == 3 else ""))
open("c.txt", "w", newline="").write("\n".join(lines))   # no final newline
EOF
size=$(stat -c %s c.txt)

# the same statistics (count exactly, mean and m2 to 1e-9 relative) and lines/documents
same() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ok = a["count"] == b["count"] and all(a[k] == b[k] for k in ("n_docs", "n_tokens", "n_lines"))
for k in ("mean", "m2"):
    ok = ok and all(abs(x - y) <= 1e-9 * max(1.0, abs(x)) for x, y in zip(a[k], b[k])) and len(a[k]) == len(b[k])
sys.exit(0 if ok else 1)
EOF
}
field() { python3 -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v) if isinstance(v,list) else v)" "$1" "$2"; }

C -q -o all.json >/dev/null
check '[ $? -eq 0 ] && [ "$(field all.json n_lines)" = 40 ]' "unsharded run: 40 lines"

# --- a Slurm job array --array=1-4: IDs 1..4, shard = ID - SLURM_ARRAY_TASK_MIN
for id in 1 2 3 4; do
    SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=4 SLURM_ARRAY_TASK_COUNT=4 \
        C --shard auto -o "part-$id.json" >/dev/null 2>"err-$id"
    check '[ $? -eq 0 ]' "slurm task $id: exit code"
    i=$((id - 1))
    check 'grep -q "shard $i/4 (from SLURM_ARRAY_TASK_ID)" "err-$id"' "slurm task $id: stderr names shard $i/4: $(cat "err-$id")"
    check '[ "$(field "part-$id.json" shards)" = "[$i]" ] && [ "$(field "part-$id.json" n_shards)" = 4 ]' "slurm task $id: shard $i/4 recorded"
    check '[ "$(field "part-$id.json" shard_from)" = SLURM_ARRAY_TASK_ID ]' "slurm task $id: shard_from recorded"
    check '[ "$(field "part-$id.json" range_begin)" = $((i * size / 4)) ] && [ "$(field "part-$id.json" range_end)" = $(((i + 1) * size / 4)) ]' \
        "slurm task $id: byte range [$((i * size / 4)), $(((i + 1) * size / 4))) recorded"
    check '[ "$(field "part-$id.json" input_size)" = "$size" ]' "slurm task $id: input size recorded"
done
total=0
for id in 1 2 3 4; do total=$((total + $(field "part-$id.json" n_lines))); done
check '[ $total = 40 ]' "slurm shards: $total lines in all, expected 40 (each line in one shard)"
"$GAZE_BIN" merge part-*.json -o merged.json --json >/dev/null 2>merge.err
check '[ $? -eq 0 ]' "merge of 4 slurm shards: exit code ($(cat merge.err))"
check 'same all.json merged.json' "merge of 4 slurm shards differs from the unsharded run"

# --- GAZE_SHARD / GAZE_SHARDS, which win over Slurm's variables
for i in 0 1; do
    GAZE_SHARD=$i GAZE_SHARDS=2 SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=4 C --shard auto -o "g$i.json" >/dev/null 2>"gerr-$i"
    check '[ $? -eq 0 ] && grep -q "shard $i/2 (from GAZE_SHARD)" "gerr-$i"' "GAZE_SHARD=$i: $(cat "gerr-$i")"
done
"$GAZE_BIN" merge g1.json g0.json -o gmerged.json --json >/dev/null 2>&1
check '[ $? -eq 0 ] && same all.json gmerged.json' "merge of 2 GAZE_SHARD shards differs from the unsharded run"

# --- --shard auto errors: before the model loads, naming the variables
err() { grep -q -- "$2" "$1" || { echo "  (stderr: $(cat "$1"))" >&2; false; }; }
C --shard auto -o x.json >/dev/null 2>e1
check '[ $? -eq 2 ] && err e1 GAZE_SHARD && err e1 SLURM_ARRAY_TASK_ID' "--shard auto without variables: exit 2 naming them"
GAZE_SHARD=2 GAZE_SHARDS=2 C --shard auto >/dev/null 2>e2
check '[ $? -eq 2 ] && err e2 "GAZE_SHARD=2 is outside 0..1"' "GAZE_SHARD out of range"
GAZE_SHARD=1 C --shard auto >/dev/null 2>e3
check '[ $? -eq 2 ] && err e3 "GAZE_SHARDS is not"' "GAZE_SHARD without GAZE_SHARDS"
SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=4 SLURM_ARRAY_TASK_COUNT=4 C --shard auto >/dev/null 2>e4
check '[ $? -eq 2 ] && err e4 "SLURM_ARRAY_TASK_ID=5"' "SLURM_ARRAY_TASK_ID outside the array"
SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=7 SLURM_ARRAY_TASK_COUNT=3 C --shard auto >/dev/null 2>e5
check '[ $? -eq 2 ] && err e5 "not a range"' "a Slurm array that is a list (1,3,7) refused"
SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=6 SLURM_ARRAY_TASK_STEP=2 SLURM_ARRAY_TASK_COUNT=4 \
    C --shard auto -q --limit 0 >/dev/null 2>e6
check '[ $? -eq 0 ]' "--array=0-6:2, ID 4: accepted ($(cat e6))"
printf 'a b\nc d\n' | "$GAZE_BIN" corpus minilm - --shard 1/2 >/dev/null 2>e7
check '[ $? -eq 2 ] && err e7 "standard input cannot be split"' "stdin with --shard 1/2 refused"

# --- merge refuses, naming the shards
cp part-2.json dup.json
"$GAZE_BIN" merge part-1.json part-2.json part-3.json part-4.json dup.json >/dev/null 2>m1
check '[ $? -eq 1 ] && err m1 "shard 1/4 given twice: part-2.json, dup.json"' "duplicate shard named"
"$GAZE_BIN" merge part-1.json part-3.json >/dev/null 2>m2
check '[ $? -eq 1 ] && err m2 "missing shards 1, 3 of 4"' "missing shards named, exit 1"
"$GAZE_BIN" merge part-1.json part-3.json --allow-partial -o partial.json >/dev/null 2>m3
check '[ $? -eq 0 ] && err m3 "warning: missing shards 1, 3 of 4" && [ "$(field partial.json shards)" = "[0, 2]" ]' "--allow-partial merges with a warning"
"$GAZE_BIN" merge part-1.json g1.json >/dev/null 2>m4
check '[ $? -eq 1 ] && err m4 "mixed shard counts: part-1.json is split into 4 shards, g1.json into 2"' "mixed shard counts refused"
mkdir other && sed 's/cat/cow/' c.txt >other/c.txt
(cd other && "$GAZE_BIN" corpus minilm c.txt --max-len 12 --threads 1 -q --shard 1/4 -o ../other-2.json >/dev/null)
"$GAZE_BIN" merge part-1.json other-2.json part-3.json part-4.json >/dev/null 2>m5
check '[ $? -eq 1 ] && err m5 "part-1.json and other-2.json were computed on different inputs"' "another input's shard refused"

python3 -c "
import json; d = json.load(open('part-2.json')); d['model'] = '/elsewhere/other-model'; json.dump(d, open('model-2.json', 'w'))"
"$GAZE_BIN" merge part-1.json model-2.json part-3.json part-4.json >/dev/null 2>m9
check '[ $? -eq 1 ] && err m9 "model-2.json: merge: different model"' "another model's shard refused"

# --- a shard stopped by --limit resumes at its byte offset; unfinished shards are refused
C -q --shard 2/4 --limit 3 -o r.json >/dev/null
check '[ "$(field r.json complete)" = False ] && [ "$(field r.json next_offset)" -gt "$(field r.json range_begin)" ]' "--limit 3: unfinished, offset recorded"
"$GAZE_BIN" merge part-1.json part-2.json r.json part-4.json >/dev/null 2>m6
check '[ $? -eq 1 ] && err m6 "r.json is unfinished"' "unfinished shard refused"
C -q --shard 2/4 --resume -o r.json >/dev/null
check '[ "$(field r.json complete)" = True ] && same part-3.json r.json' "resumed shard equals the shard run in one go"

# --- files of an older gaze (no input identity): merged as before, with a note
python3 - <<'EOF'
import json
for src, dst in (("all.json", "old.json"),):
    d = json.load(open(src))
    for k in ("split", "input_size", "input_hash", "range_begin", "range_end", "next_offset", "shard_from"):
        d.pop(k, None)
    json.dump(d, open(dst, "w"))
EOF
"$GAZE_BIN" merge old.json -o oldm.json --json >/dev/null 2>m7
check '[ $? -eq 0 ] && err m7 "old.json records no input identity" && same all.json oldm.json' "older file: merged with a note"

# an older gaze's unfinished unsharded file (a line count, no byte offset) resumes by line count
C -q --limit 5 -o lr.json >/dev/null
python3 - <<'EOF2'
import json
d = json.load(open("lr.json"))
for k in ("split", "input_size", "input_hash", "range_begin", "range_end", "next_offset", "shard_from"):
    d.pop(k, None)
json.dump(d, open("lr.json", "w"))
EOF2
C -q --resume -o lr.json >/dev/null 2>m8
check '[ $? -eq 0 ] && same all.json lr.json' "older unfinished file: resumed by line count ($(cat m8))"

e2e_finish
