#!/usr/bin/env bash
# BERT-like encoders end to end on the committed tiny models (tests/fixtures/encoders, made by
# tests/reference/gen_encoder_fixtures.py): `gaze info`, `gaze run` (a text and a sentence pair)
# and `gaze show` on RoBERTa, DistilBERT and ELECTRA; an unknown model_type refused naming the
# file and the field.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_encoders
e2e_need_bin
ENC=tests/fixtures/encoders

for fam in roberta distilbert electra; do
    out=$("$BIN" info "$ENC/$fam" 2>&1); rc=$?
    check '[ $rc -eq 0 ] && grep -q "model_type *$fam" <<<"$out"' "info $fam: exit $rc: $out"
    out=$("$BIN" run "$ENC/$fam" "Hello world! Attention is all you need." -o "$tmp/$fam.safetensors" 2>&1); rc=$?
    check '[ $rc -eq 0 ] && [ -s "$tmp/$fam.safetensors" ]' "run $fam: exit $rc: $out"
    check 'grep -q "($fam, 2 layers x 4 heads)" <<<"$out" && grep -q "captured 2 layers x 4 heads -> $tmp/$fam.safetensors" <<<"$out"' \
        "run $fam says what it ran and where the run went: $out"
    out=$("$BIN" show "$tmp/$fam.safetensors" --layer 0 2>&1); rc=$?
    check '[ $rc -eq 0 ] && grep -q "layer 0, mean over 4 heads" <<<"$out"' "show $fam run: exit $rc: $out"
done

# RoBERTa: byte-level pieces with their spaces, <s> ... </s>; pairs <s> A </s></s> B </s>
out=$("$BIN" run "$ENC/roberta" "Hello world!" -o "$tmp/r1.safetensors" 2>&1)
check 'grep -q "<s> H el lo  wor l d ! </s>" <<<"$out"' "roberta tokens: $out"
out=$("$BIN" run "$ENC/roberta" "A short question?" --pair "A longer answer." -o "$tmp/pair.safetensors" 2>&1); rc=$?
check '[ $rc -eq 0 ] && grep -q "? </s> </s> A" <<<"$out"' "roberta pair template: exit $rc: $out"
meta=$(e2e_run_meta "$tmp/pair.safetensors" gaze.arch gaze.pair 2>&1)
check '[ "$meta" = "roberta A longer answer." ]' "roberta pair run file: arch and pair: $meta"
# longest-first truncation of a pair, as transformers (tok(A, B, truncation="longest_first",
# max_length=9) on this tokenizer gives these ids)
"$BIN" run "$ENC/roberta" "A short question?" --pair "A longer answer that goes on for a while." --max-len 9 \
    -o "$tmp/trunc.safetensors" -q
ids=$(python3 -c 'import array,json,struct,sys; f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]; t=json.loads(f.read(n))["token_ids"]; f.seek(8+n+t["data_offsets"][0]); a=array.array("i"); a.frombytes(f.read(t["data_offsets"][1]-t["data_offsets"][0])); print(list(a))' "$tmp/trunc.safetensors" 2>&1)
check '[ "$ids" = "[0, 36, 266, 2, 2, 36, 336, 273, 2]" ]' "roberta pair truncated longest-first to 9: $ids"
out=$("$BIN" show "$ENC/electra" "A short question?" --pair "A longer answer." 2>&1); rc=$?
check '[ $rc -eq 0 ] && grep -q "\[SEP\]" <<<"$out"' "live show on electra with a pair: exit $rc"

# refusals: an unknown model_type names the file and the field
mkdir "$tmp/bad"
cp "$ENC/roberta/"{model.safetensors,tokenizer.json} "$tmp/bad/"
sed 's/"model_type": "roberta"/"model_type": "robertina"/' "$ENC/roberta/config.json" > "$tmp/bad/config.json"
out=$("$BIN" run "$tmp/bad" "Hello" -o "$tmp/bad.safetensors" 2>&1); rc=$?
check '[ $rc -ne 0 ] && grep -q "bad/config.json: model_type \"robertina\" is not supported" <<<"$out" && grep -q "\"distilbert\"" <<<"$out"' \
    "unknown model_type refused: exit $rc: $out"
check '[ ! -e "$tmp/bad.safetensors" ]' "no run file after a refusal"
e2e_finish
