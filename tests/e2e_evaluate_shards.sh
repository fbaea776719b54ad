#!/usr/bin/env bash
# End to end: gaze evaluate split into shards and joined by gaze merge (MiniLM, 21 items of the
# shipped evidence benchmark over its four tasks after one item too short to score, --limit 12 so
# that the items asked are spread over the file). The merge of 3 shards prints the table and the
# --json of the unsharded run (the seconds per item masked: they are measured); the parts hold
# every item's scores with the model, data identity, options and shard; merge refuses duplicate,
# missing, unfinished, mixed-count, other-data and other-option parts, naming the files
# (--allow-partial merges anyway, saying so); a shard stopped at --deadline or killed resumes
# with --resume to the same scores; corrupt parts are refused naming the file and the field; a
# progress line is drawn on a terminal only.
# Needs $GAZE_BIN, python3 and the fetched MiniLM.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_evaluate_shards stderr
e2e_need_bin
e2e_need_model minilm
GAZE_BIN=$(cd "$(dirname "$GAZE_BIN")" && pwd)/$(basename "$GAZE_BIN")
SRC=$(cd "$(dirname "$0")/.." && pwd)
unset GAZE_SHARD GAZE_SHARDS SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_MAX SLURM_ARRAY_TASK_STEP
cd "$tmp" || exit 1
M=$MODELS/minilm
# a one-word item, then every 16th item of the benchmark (agreement, pronoun, factual, copying)
echo '{"task": "short", "text": "Go", "evidence": [[0, 2]]}' >ev.jsonl
awk 'NR % 16 == 1' "$SRC/data/evidence/evidence.jsonl" >>ev.jsonl
E() { "$GAZE_BIN" evaluate "$M" ev.jsonl --methods random,value-norm --limit 12 --bootstrap 200 --seed 3 --threads 1 "$@"; }
err() { grep -q -- "$2" "$1" || { echo "  (stderr: $(cat "$1"))" >&2; false; }; }
field() { python3 -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v) if isinstance(v,(list,dict,bool)) else v)" "$1" "$2"; }
# the table without its measured column (s/item, after the last '|' of the overall rows)
mask_table() { sed -E 's/\| +[0-9.]+$/| T/' "$1"; }
mask_json() { python3 -c "
import json, sys
o = json.load(open(sys.argv[1]))
for r in o['methods']: r.pop('seconds_per_item', None)
print(json.dumps(o, sort_keys=True))" "$1"; }

# --- unsharded: the reference table and JSON
E >all.txt 2>all.err; rc=$?
check '[ $rc -eq 0 ] && grep -q "^all tasks" all.txt' "unsharded run: $(cat all.err)"
E --json >all.json 2>/dev/null; rc=$?
check '[ $rc -eq 0 ] && [ "$(field all.json items)" = 11 ]' "unsharded --json: $(head -c 300 all.json)"
check 'err all.err "per-item scores not saved"' "a run without -o says the scores are not saved"
check '! grep -q $'"'"'\r'"'"' all.err' "progress drawn on stderr that is not a terminal"

# --- 3 shards, each with its part file; the merge prints what the unsharded run prints
for i in 0 1 2; do
    E --shard $i/3 -o p$i.json >p$i.txt 2>p$i.err; rc=$?
    check '[ $rc -eq 0 ]' "shard $i/3: exit code ($(cat p$i.err))"
    check 'err p$i.err "wrote the per-item scores of [0-9]* items to p$i.json (shard $i/3, complete"' "shard $i/3 does not say what it wrote"
    check '[ "$(field p$i.json format)" = gaze.evaluate ] && [ "$(field p$i.json shards)" = "[$i]" ] && [ "$(field p$i.json n_shards)" = 3 ] && [ "$(field p$i.json complete)" = true ]' \
        "shard $i/3: identity fields"
    check '[ "$(field p$i.json seed)" = 3 ] && [ "$(field p$i.json bootstrap)" = 200 ] && [ "$(field p$i.json n_eval)" = 12 ] && [ "$(field p$i.json input_size)" = "$(stat -c %s ev.jsonl)" ]' \
        "shard $i/3: options and data identity recorded"
    check '[ "$(field p$i.json methods)" = "[\"random\", \"value-norm\"]" ]' "shard $i/3: methods recorded"
done
total=$(python3 -c "import json; print(sum(len(json.load(open(f'p{i}.json'))['items']) for i in range(3)))")
check '[ "$total" = 12 ]' "the 3 shards hold $total items, expected 12 (each once)"
python3 - <<'EOF'
import json, sys
es = [it["e"] for i in range(3) for it in json.load(open(f"p{i}.json"))["items"]]
ok = sorted(es) == list(range(12))
p = json.load(open("p0.json"))
ok = ok and all(len(it["scores"]) == 2 and all(r is None or len(r) == 7 for r in it["scores"]) for it in p["items"])
sys.exit(0 if ok else 1)
EOF
rc=$?
check '[ $rc -eq 0 ]' "parts: items 0..11 once each, 2 methods x 7 metrics per item"

"$GAZE_BIN" merge p0.json p1.json p2.json >m.txt 2>m.err; rc=$?
check '[ $rc -eq 0 ]' "merge of 3 parts: exit code ($(cat m.err))"
check '[ "$(mask_table all.txt)" = "$(mask_table m.txt)" ]' "merged table differs from the unsharded one: $(diff <(mask_table all.txt) <(mask_table m.txt) | head -20)"
check 'err m.err "joined 3 parts of gaze evaluate" && err m.err "printed only, not saved"' "merge does not say what it did"
"$GAZE_BIN" merge p2.json p0.json p1.json --json -o merged.json >m.json 2>m2.err; rc=$?
check '[ $rc -eq 0 ] && [ "$(mask_json all.json)" = "$(mask_json m.json)" ]' "merged --json differs from the unsharded one ($(cat m2.err))"
check 'err m2.err "saved to merged.json" && [ "$(field merged.json shards)" = "[0, 1, 2]" ] && [ "$(field merged.json complete)" = true ]' \
    "merge -o: the joined part not saved"
check 'grep -q "^task short (0 items)" all.txt && err all.err "ev.jsonl:1 left out"' \
    "the one-word item is not left out by name: $(cat all.err)"

# --- --shard auto from GAZE_SHARD / GAZE_SHARDS (the same parser as gaze corpus)
GAZE_SHARD=1 GAZE_SHARDS=3 E --shard auto -o a1.json >/dev/null 2>a1.err; rc=$?
check '[ $rc -eq 0 ] && err a1.err "shard 1/3 (from GAZE_SHARD)" && [ "$(field a1.json shard_from)" = GAZE_SHARD ]' "--shard auto: $(cat a1.err)"
E --shard 1/3 >/dev/null 2>e0; rc=$?
check '[ $rc -eq 2 ] && err e0 "needs -o FILE"' "--shard without -o refused"
E --shard 3/3 -o x.json >/dev/null 2>e00; rc=$?
check '[ $rc -eq 2 ] && err e00 "gaze evaluate: --shard i"' "--shard 3/3 refused by the evaluate command"

# --- merge refuses, naming the parts
cp p1.json dup.json
"$GAZE_BIN" merge p0.json p1.json p2.json dup.json >/dev/null 2>r1; rc=$?
check '[ $rc -eq 1 ] && err r1 "shard 1/3 given twice: p1.json, dup.json"' "duplicate shard named"
"$GAZE_BIN" merge p0.json p2.json >/dev/null 2>r2; rc=$?
check '[ $rc -eq 1 ] && err r2 "missing shard 1 of 3"' "missing shard named"
"$GAZE_BIN" merge p0.json p2.json --allow-partial --json >part.json 2>r3; rc=$?
check '[ $rc -eq 0 ] && err r3 "warning: missing shard 1 of 3" && python3 -c "import json,sys; o=json.load(open(\"part.json\")); sys.exit(0 if o[\"partial\"][\"shards_held\"] == 2 and o[\"partial\"][\"n_shards\"] == 3 else 1)"' \
    "--allow-partial merges with a warning and says partial"
E --shard 0/2 -o q0.json >/dev/null 2>&1
"$GAZE_BIN" merge p0.json q0.json >/dev/null 2>r4; rc=$?
check '[ $rc -eq 1 ] && err r4 "mixed shard counts: p0.json is split into 3 shards, q0.json into 2"' "mixed shard counts refused"
E --shard 1/3 --seed 4 -o s1.json >/dev/null 2>&1
"$GAZE_BIN" merge p0.json s1.json p2.json >/dev/null 2>r5; rc=$?
check '[ $rc -eq 1 ] && err r5 "p0.json and s1.json differ in seed"' "another seed refused"
E --shard 1/3 --exact -o x1.json >/dev/null 2>&1
"$GAZE_BIN" merge p0.json x1.json p2.json >/dev/null 2>r5b; rc=$?
check '[ $rc -eq 1 ] && err r5b "differ in exact"' "another --exact refused: $(cat r5b)"
mkdir other && sed 's/cabinet/cupboard/; s/The /A /' ev.jsonl >other/ev.jsonl
(cd other && "$GAZE_BIN" evaluate "$M" ev.jsonl --methods random,value-norm --limit 12 --bootstrap 200 --seed 3 \
    --threads 1 --shard 1/3 -o ../o1.json >/dev/null 2>&1)
"$GAZE_BIN" merge p0.json o1.json p2.json >/dev/null 2>r6; rc=$?
check '[ $rc -eq 1 ] && err r6 "p0.json and o1.json were computed on different inputs"' "another data file refused: $(cat r6)"
python3 -c "
import json; d = json.load(open('p1.json')); d['model'] = '/elsewhere/other-model'; json.dump(d, open('mod1.json', 'w'))"
"$GAZE_BIN" merge p0.json mod1.json p2.json >/dev/null 2>r7; rc=$?
check '[ $rc -eq 1 ] && err r7 "p0.json and mod1.json differ in model"' "another model refused"

# --- a shard stopped at its deadline: unfinished, refused by merge, --resume completes it
python3 - <<'EOF'
import json
d = json.load(open("p1.json"))
d["items"] = d["items"][:2]; d["complete"] = False; d["stopped_at_deadline"] = True
json.dump(d, open("u1.json", "w"))
EOF
"$GAZE_BIN" merge p0.json u1.json p2.json >/dev/null 2>r8; rc=$?
check '[ $rc -eq 1 ] && err r8 "u1.json is unfinished" && err r8 "gaze evaluate --resume completes it"' "unfinished part refused by name"
E --shard 1/3 -o u1.json --resume >/dev/null 2>u.err; rc=$?
check '[ $rc -eq 0 ] && err u.err "resuming u1.json: 2 of the 4 items of shard 1/3 done" && [ "$(field u1.json complete)" = true ]' "--resume: $(cat u.err)"
"$GAZE_BIN" merge p0.json u1.json p2.json >mu.txt 2>/dev/null
check '[ "$(mask_table all.txt)" = "$(mask_table mu.txt)" ]' "the resumed shard's merge differs from the unsharded run"
E --shard 1/3 -o u1.json --resume --seed 9 >/dev/null 2>u2.err; rc=$?
check '[ $rc -eq 2 ] && err u2.err "cannot resume u1.json: its field seed differs"' "--resume with another seed refused: $(cat u2.err)"
E --shard 0/3 -o u1.json --resume >/dev/null 2>u3.err; rc=$?
check '[ $rc -eq 2 ] && err u3.err "cannot resume u1.json: its field shard differs"' "--resume of another shard refused: $(cat u3.err)"

# a real --deadline: stops after the item under way, marks the part unfinished
for i in $(seq 30); do cat ev.jsonl; done >ev30.jsonl
"$GAZE_BIN" evaluate "$M" ev30.jsonl --methods value-norm --threads 1 --shard 0/2 --deadline 1 -o d0.json >/dev/null 2>d.err; rc=$?
check '[ $rc -eq 0 ] && [ "$(field d0.json complete)" = false ] && [ "$(field d0.json stopped_at_deadline)" = true ] && err d.err "stopped at the deadline"' \
    "--deadline: part not marked unfinished ($(cat d.err))"

# a kill -9 while the part is written after every item: the file on disk stays whole
for i in 1 2 3; do cat ev.jsonl; done >ev3.jsonl
"$GAZE_BIN" evaluate "$M" ev3.jsonl --methods value-norm --threads 1 -o k.json >/dev/null 2>k.err &
pid=$!
for _ in $(seq 400); do [ -s k.json ] && break; sleep 0.05; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
n_k=$(python3 -c "import json; print(len(json.load(open('k.json'))['items']))" 2>/dev/null)
check '[ -n "$n_k" ] && [ "$n_k" -ge 1 ]' "after kill -9 the part does not load ($n_k)"
"$GAZE_BIN" evaluate "$M" ev3.jsonl --methods value-norm --threads 1 -o k.json --resume >k2.txt 2>k2.err
"$GAZE_BIN" evaluate "$M" ev3.jsonl --methods value-norm --threads 1 >k3.txt 2>/dev/null
check '[ "$(field k.json complete)" = true ] && [ "$(mask_table k2.txt)" = "$(mask_table k3.txt)" ]' \
    "killed at item $n_k and resumed: the table differs from an uninterrupted run ($(cat k2.err))"

# --- a progress line on a terminal (a pseudo-terminal from util-linux script), none when piped
if command -v script >/dev/null; then
    script -qfec "$(printf '%q ' "$GAZE_BIN" evaluate "$M" ev.jsonl --methods random --limit 12 --threads 1 --shard 0/3 -o t0.json)" \
        /dev/null </dev/null >t0.tty 2>&1
    check 'grep -qaP "\rgaze evaluate: (\[[# ]{20}\] )?[0-9]/4 items" t0.tty' "no progress line on a terminal: $(tr '\r' '\n' <t0.tty | head -5)"
else
    bad "'script' (util-linux, Debian bsdutils) is not installed: scripts/install-deps"
fi

# --- corrupt parts: the file and the field named, exit 1, nothing merged
head -c 300 p1.json >trunc.json
"$GAZE_BIN" merge p0.json trunc.json p2.json >/dev/null 2>c1; rc=$?
check '[ $rc -eq 1 ] && err c1 "trunc.json"' "truncated part: $(cat c1)"
python3 - <<'EOF'
import json
d = json.load(open("p1.json")); d["items"][0]["scores"][1] = [1, 2]; json.dump(d, open("bad1.json", "w"))
d = json.load(open("p1.json")); d["items"][0]["e"] = json.load(open("p0.json"))["items"][0]["e"]; json.dump(d, open("bad2.json", "w"))
d = json.load(open("p1.json")); d["input_hash"] = "xyz"; json.dump(d, open("bad3.json", "w"))
EOF
"$GAZE_BIN" merge p0.json bad1.json p2.json >/dev/null 2>c2; rc=$?
check '[ $rc -eq 1 ] && err c2 "bad1.json: items\[0\]: field scores\[1\]"' "a short score row: $(cat c2)"
"$GAZE_BIN" merge p0.json bad2.json p2.json >/dev/null 2>c3; rc=$?
check '[ $rc -eq 1 ] && err c3 "bad2.json: items\[0\]: field e: item [0-9]* belongs to shard 0/3"' "an item of another shard: $(cat c3)"
"$GAZE_BIN" merge p0.json bad3.json p2.json >/dev/null 2>c4; rc=$?
check '[ $rc -eq 1 ] && err c4 "bad3.json: field input_hash"' "a bad hash: $(cat c4)"
e2e_finish
