#!/usr/bin/env bash
# Encoder-decoder models end to end on the committed tiny models (tests/fixtures/seq2seq): `gaze
# run FOLDER "text" --generate N -o RUN` on T5 (Unigram tokenizer.json), BART (byte-level BPE) and
# Marian (source.spm / target.spm / vocab.json) writes the encoder, decoder and cross kinds;
# Marian without its tokenizer files and a pair are refused by name.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_seq2seq
e2e_need_bin
S2S=tests/fixtures/seq2seq

for fam in t5 bart marian_text; do
    out=$("$BIN" run "$S2S/$fam" "the lazy dog near the river" --generate 4 -o "$tmp/$fam.safetensors" 2>"$tmp/err"); rc=$?
    check '[ $rc -eq 0 ] && [ -s "$tmp/$fam.safetensors" ]' "run $fam --generate 4: exit $rc: $(cat "$tmp/err")"
    check 'grep -q "target: 5 tokens (4 generated)" <<<"$out"' "$fam: the target side is reported: $out"
    kinds=$(python3 -c 'import json,struct,sys; f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]; h=json.loads(f.read(n)); print(h["__metadata__"].get("gaze.kinds"))' "$tmp/$fam.safetensors")
    check 'grep -q "encoder" <<<"$kinds" && grep -q "decoder" <<<"$kinds" && grep -q "cross" <<<"$kinds"' "$fam: run file kinds: $kinds"
    "$BIN" show "$tmp/$fam.safetensors" >/dev/null 2>&1; rc=$?
    check '[ $rc -eq 0 ]' "$fam: gaze show reads the run (encoder kind): exit $rc"
done
# Marian's source side: sentencepiece pieces mapped through vocab.json, an unknown character is <unk>
out=$("$BIN" run "$S2S/marian_text" "the fox ☃" --generate 2 --capture none 2>&1); rc=$?
check '[ $rc -eq 0 ] && grep -q "<unk>" <<<"$out" && grep -q "</s>" <<<"$out"' "marian_text: <unk> and </s> shown: exit $rc: $out"
# the memory budget is applied to encoder-decoder runs before they allocate
"$BIN" run "$S2S/marian_text" "the fox" --generate 8 --max-memory 4K >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -ne 0 ] && grep -q "memory budget" "$tmp/err"' "marian_text --max-memory 4K refused: exit $rc: $(cat "$tmp/err")"
"$BIN" run "$S2S/marian" "hello" -o "$tmp/m.safetensors" >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -ne 0 ] && grep -q "source.spm" "$tmp/err"' "marian text refused naming source.spm: exit $rc: $(cat "$tmp/err")"
"$BIN" run "$S2S/t5" "a" --pair "b" >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -ne 0 ] && grep -q "pair" "$tmp/err"' "t5 --pair refused: exit $rc: $(cat "$tmp/err")"
e2e_finish
