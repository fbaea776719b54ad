#!/usr/bin/env bash
# gaze explain and gaze evaluate end to end: every attribution method on MiniLM (JSON shape,
# ALTI / value zeroing rows summing to 1 after the rollout), the attention methods from a saved
# run (and the others refused there by name), the logit lens on SmolLM2 (the final prediction of
# "The capital of France is" is " Paris", reached only in the last layers), the bar figure, and
# gaze evaluate on a two-item evidence file (JSON rows per method, metrics in range; a bad span
# refused with file:line); gaze bias on counterfactual pairs.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_explain
e2e_need_bin
e2e_need_model minilm smollm2
M=$MODELS/minilm
S=$MODELS/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
text="The keys to the cabinet are on the table."

# json_check FILE PYTHON-EXPR: the expression over the parsed JSON `o` is true
json_check() {
    python3 -c "import json,sys,math; o=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"
}

for m in attention rollout flow value-norm residual-norm alti value-zeroing occlusion knockout; do
    if "$BIN" explain "$m" "$M" "$text" --json --threads 1 >"$tmp/$m.json" 2>"$tmp/$m.err"; then
        if json_check "$tmp/$m.json" "o['method'] == '$m' and len(o['values']) == len(o['tokens']) == 12 and all(math.isfinite(v) for v in o['values'])"; then ok
        else bad "explain $m: unexpected JSON: $(head -c 300 "$tmp/$m.json")"; fi
        grep -q "gaze explain: $m over 12 tokens" "$tmp/$m.err" && ok || bad "explain $m: no closing line on stderr"
    else
        bad "explain $m failed: $(head -c 300 "$tmp/$m.err")"
    fi
done
# rolled-out ALTI and value zeroing keep rows summing to 1: so does their mean over rows
for m in alti value-zeroing; do
    json_check "$tmp/$m.json" "abs(sum(o['values']) - 1) < 1e-4" && ok || bad "explain $m: values do not sum to 1"
done
# occlusion of [CLS]/[SEP] (no text to delete) is 0; the subject 'keys' matters more than 'the'
json_check "$tmp/occlusion.json" "o['values'][0] == 0 and o['values'][11] == 0 and o['values'][2] > o['values'][1]" && ok ||
    bad "explain occlusion: specials not 0 or 'keys' <= 'the'"

# bars on the terminal, one line per token, --layer and --token
"$BIN" explain value-norm "$M" "$text" --layer 2 --token 2 --ascii >"$tmp/bars" 2>/dev/null
check 'head -1 "$tmp/bars" | grep -q "value-norm, layer 2 to output token 2" && [ "$(grep -c "#" "$tmp/bars")" -ge 1 ] && [ "$(wc -l <"$tmp/bars")" -eq 13 ]' \
    "explain value-norm --layer 2 --token 2: unexpected bars: $(head -3 "$tmp/bars")"

# a saved run: attention, rollout, flow work; the others need the model
"$BIN" run "$M" "$text" -o "$tmp/run.safetensors" -q 2>/dev/null
"$BIN" explain rollout "$tmp/run.safetensors" --json >"$tmp/run_rollout.json" 2>/dev/null
check 'json_check "$tmp/run_rollout.json" "len(o[\"values\"]) == 12"' "explain rollout RUN failed"
# the same rollout from the run and from the model
check 'python3 -c "import json,sys; a=json.load(open(sys.argv[1]))[\"values\"]; b=json.load(open(sys.argv[2]))[\"values\"]; sys.exit(0 if max(abs(x-y) for x,y in zip(a,b)) < 1e-6 else 1)" "$tmp/run_rollout.json" "$tmp/rollout.json"' \
    "explain rollout: the run file and the model disagree"
"$BIN" explain alti "$tmp/run.safetensors" >"$tmp/out" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q "alti needs the model" "$tmp/err"' "explain alti RUN: not refused with exit 2: $(cat "$tmp/err")"

# usage errors
"$BIN" explain nosuch "$M" "$text" >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q "unknown method" "$tmp/err"' "explain nosuch: not exit 2"
"$BIN" explain attention "$M" "$text" --layer 6 >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -ne 0 ] && grep -q "layer 6 out of range" "$tmp/err"' "explain --layer 6 on 6 layers: not refused: $(cat "$tmp/err")"

# the figure
"$BIN" explain alti "$M" "$text" --plot "$tmp/alti.svg" >/dev/null 2>"$tmp/err"
check '[ -s "$tmp/alti.svg" ] && grep -q "<svg" "$tmp/alti.svg" && grep -q "alti.svg" "$tmp/err"' "explain --plot: no SVG or no message"

# logit lens: SmolLM2 on a factual prompt; MiniLM refused
"$BIN" explain logit-lens "$S" "The capital of France is" --json --top 3 >"$tmp/lens.json" 2>"$tmp/err"
check 'json_check "$tmp/lens.json" "o[\"final_text\"] == \" Paris\" and len(o[\"layers\"]) == 30 and o[\"layers\"][-1][\"p_final\"] > 0.5 and o[\"layers\"][0][\"p_final\"] < 0.01 and len(o[\"layers\"][5][\"top\"]) == 3"' \
    "logit lens: unexpected $(head -c 300 "$tmp/lens.json") $(cat "$tmp/err")"
"$BIN" explain logit-lens "$M" "$text" >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 1 ] && grep -q "needs a decoder" "$tmp/err"' "logit lens on MiniLM: not refused: $(cat "$tmp/err")"

# value zeroing and knockout on a decoder (SmolLM2): value zeroing's rolled-out row sums to 1;
# knockout scores are drops of log p(own prediction), finite, one per token
"$BIN" explain value-zeroing "$S" "The keys to the cabinet" --json --threads 1 >"$tmp/dvz.json" 2>"$tmp/err"
check 'json_check "$tmp/dvz.json" "len(o[\"values\"]) == 5 and abs(sum(o[\"values\"]) - 1) < 1e-4"' \
    "explain value-zeroing on SmolLM2: $(head -c 300 "$tmp/dvz.json") $(cat "$tmp/err")"
"$BIN" explain knockout "$S" "The keys to the cabinet" --json --threads 1 >"$tmp/dko.json" 2>"$tmp/err"
check 'json_check "$tmp/dko.json" "len(o[\"values\"]) == 5 and all(math.isfinite(v) for v in o[\"values\"]) and max(o[\"values\"]) > 0.1"' \
    "explain knockout on SmolLM2: $(head -c 300 "$tmp/dko.json") $(cat "$tmp/err")"

# evaluate: two items, two methods
cat >"$tmp/ev.jsonl" <<'EOF'
{"task": "agreement", "text": "The keys to the cabinet", "target": " are", "evidence": [[4, 8]]}

{"task": "factual", "text": "The capital of France is", "target": " Paris", "evidence": [[15, 21]]}
EOF
"$BIN" evaluate "$M" "$tmp/ev.jsonl" --methods random,occlusion --json --threads 1 >"$tmp/ev.json" 2>"$tmp/err"
check 'json_check "$tmp/ev.json" "o[\"items\"] == 2 and [r[\"method\"] for r in o[\"methods\"]] == [\"random\", \"occlusion\"] and all(0 <= r[\"auprc\"] <= 1 and 0 <= r[\"iou_f1\"] <= 1 and math.isfinite(r[\"comprehensiveness_aopc\"]) for r in o[\"methods\"])"' \
    "evaluate --json: unexpected $(head -c 400 "$tmp/ev.json") $(cat "$tmp/err")"
check 'grep -q "gaze evaluate: 2 items x 2 methods" "$tmp/err"' "evaluate: no closing line"
# every number has a 95 % interval around it, overall and per task (two tasks, one item each)
check 'json_check "$tmp/ev.json" "all(r[k + \"_ci\"][0] <= r[k] <= r[k + \"_ci\"][1] for r in o[\"methods\"] for k in (\"comprehensiveness_aopc\", \"auprc\", \"deletion_auc\")) and [t[\"task\"] for t in o[\"tasks\"]] == [\"agreement\", \"factual\"] and all(t[\"items\"] == 1 and len(t[\"methods\"]) == 2 for t in o[\"tasks\"]) and o[\"bootstrap\"] == 1000"' \
    "evaluate --json: no intervals or per-task rows: $(head -c 600 "$tmp/ev.json")"
"$BIN" evaluate "$M" "$tmp/ev.jsonl" --methods random,occlusion --json --threads 1 --seed 7 --bootstrap 200 >"$tmp/ev2.json" 2>/dev/null
check 'json_check "$tmp/ev2.json" "o[\"seed\"] == 7 and o[\"bootstrap\"] == 200"' "evaluate --seed/--bootstrap not reported"
"$BIN" evaluate "$M" "$tmp/ev.jsonl" --methods random --threads 1 >"$tmp/ev3.txt" 2>/dev/null
check 'grep -q "^task agreement (1 items)" "$tmp/ev3.txt" && grep -q "^task factual (1 items)" "$tmp/ev3.txt" && grep -q "95 % bootstrap interval" "$tmp/ev3.txt"' \
    "evaluate table: no per-task tables: $(cat "$tmp/ev3.txt")"
for i in $(seq 20); do grep . "$tmp/ev.jsonl"; done >"$tmp/ev40.jsonl"   # 40 items: many seconds of work
"$BIN" evaluate "$M" "$tmp/ev40.jsonl" --methods random --threads 1 --deadline 1 --json >"$tmp/ev4.json" 2>"$tmp/err"
check 'json_check "$tmp/ev4.json" "o[\"stopped_at_deadline\"][\"items_asked\"] == 40 and 1 <= o[\"items\"] == o[\"stopped_at_deadline\"][\"items_done\"] < 40" && grep -q "stopped at the deadline" "$tmp/err"' \
    "evaluate --deadline: $(head -c 300 "$tmp/ev4.json") $(cat "$tmp/err")"
"$BIN" evaluate "$S" "$tmp/ev.jsonl" --methods occlusion --threads 1 >"$tmp/ev.txt" 2>"$tmp/err"
check 'grep -q "the model predicts the item" "$tmp/ev.txt" && grep -q "^occlusion " "$tmp/ev.txt"' "evaluate SmolLM2 table: $(cat "$tmp/ev.txt" "$tmp/err")"
printf '{"text": "abc", "evidence": [[2, 9]]}\n' >"$tmp/bad.jsonl"
"$BIN" evaluate "$M" "$tmp/bad.jsonl" >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q "bad.jsonl:1: an \"evidence\" span" "$tmp/err"' "evaluate: bad span not refused by file:line: $(cat "$tmp/err")"
"$BIN" evaluate "$M" "$tmp/ev.jsonl" --methods nosuch >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q "unknown method" "$tmp/err"' "evaluate --methods nosuch: not exit 2"

# bias: six counterfactual pairs, JSON per head; a line without a counterfactual refused
head -6 "$(dirname "$0")/../data/bias/occupation_pronouns.jsonl" >"$tmp/pairs.jsonl"
for meth in attention value-norm; do
    "$BIN" bias "$M" "$tmp/pairs.jsonl" --method $meth --bootstrap 200 --json --threads 1 >"$tmp/bias.json" 2>"$tmp/err"
    check 'json_check "$tmp/bias.json" "o[\"pairs\"] == 6 and len(o[\"heads\"]) == 72 and all(h[\"lo\"] <= h[\"mean\"] <= h[\"hi\"] and 0 < h[\"p\"] <= 1 and h[\"q\"] >= h[\"p\"] for h in o[\"heads\"])"' \
        "bias --method $meth --json: unexpected $(head -c 300 "$tmp/bias.json") $(cat "$tmp/err")"
done
"$BIN" bias "$M" "$tmp/pairs.jsonl" --bootstrap 200 --top 3 --threads 1 >"$tmp/bias.txt" 2>/dev/null
check 'grep -q "heads differ at false discovery rate 0.05" "$tmp/bias.txt" && [ "$(grep -cE "^ +[0-9]+ +[0-9]+ +[+-][0-9]" "$tmp/bias.txt")" -eq 3 ]' "bias table: $(cat "$tmp/bias.txt")"
head -1 "$tmp/ev.jsonl" >"$tmp/nocf.jsonl"
"$BIN" bias "$M" "$tmp/nocf.jsonl" >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q "nocf.jsonl:1: a pair needs" "$tmp/err"' "bias without counterfactual: not refused: $(cat "$tmp/err")"
e2e_finish
