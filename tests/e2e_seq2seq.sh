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
    kinds=$(e2e_run_meta "$tmp/$fam.safetensors" gaze.kinds)
    check 'grep -q "encoder" <<<"$kinds" && grep -q "decoder" <<<"$kinds" && grep -q "cross" <<<"$kinds"' "$fam: run file kinds: $kinds"
    "$BIN" show "$tmp/$fam.safetensors" >/dev/null 2>&1; rc=$?
    check '[ $rc -eq 0 ]' "$fam: gaze show reads the run (encoder kind): exit $rc"
done

# the generated target text streams to stdout as it is produced (gaze_run_opts.on_token through
# the tokenizer's stream decoder), piped and on a terminal: greedy and --beams 3. The stream (stdout
# up to the summary line, which starts with the model path) is the target tokens' text as the run
# file records them: their pieces, control tokens dropped, decoded (T5 Metaspace: "▁" is a space,
# the first one dropped; BART byte-level: the GPT-2 byte alphabet back to bytes).
for fam in t5 bart; do
    for beams in 1 3; do
        "$BIN" run "$S2S/$fam" "the lazy dog near the river" --generate 8 --beams $beams -o "$tmp/s.safetensors" \
            >"$tmp/s.out" 2>"$tmp/s.err" </dev/null; rc=$?
        check '[ $rc -eq 0 ]' "$fam --beams $beams piped: exit $rc: $(cat "$tmp/s.err")"
        python3 - "$tmp/s.safetensors" "$tmp/s.out" "$S2S/$fam" "$fam" $beams >"$tmp/s.check" 2>&1 <<'PY'
import json, struct, sys
buf = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", buf[:8])
meta = json.loads(buf[8:8 + n].decode("utf-8"))["__metadata__"]
dec = json.loads(meta.get("seq2seq.decoding", "{}"))
if dec.get("num_beams") != int(sys.argv[5]):
    print("seq2seq.decoding %r, not %s beams" % (dec, sys.argv[5])); sys.exit(1)
toks = json.loads(meta["gaze.target_tokens"])[1:]          # after the decoder start
ctrl = {"</s>", "<pad>", "<unk>", "<s>"}
pieces = [t for t in toks if t not in ctrl]
if sys.argv[4] == "t5":
    want = "".join(pieces).replace("▁", " ")
    want = want[1:] if want.startswith(" ") else want
else:
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:] + [256 + k for k in range(256) if k not in bs]
    bs = bs + [k for k in range(256) if k not in bs]
    inv = {chr(c): b for b, c in zip(bs, cs)}
    want = bytes(inv[ch] for ch in "".join(pieces)).decode("utf-8", "replace")
out = open(sys.argv[2], encoding="utf-8").read()
cut = out.find("\n" + sys.argv[3] + " (")
if cut < 0 or len(toks) < 2:
    print("no summary line or no generated tokens: %r" % out); sys.exit(1)
if out[:cut] != want:
    print("stream %r != the target tokens' text %r" % (out[:cut], want)); sys.exit(1)
print("stream = %r" % want)
PY
        check '[ $? -eq 0 ]' "$fam --beams $beams: the stream is the generated text: $(cat "$tmp/s.check")"
    done
    if command -v script >/dev/null; then
        script -qfec "$(printf '%q ' "$BIN" run "$S2S/$fam" "the lazy dog near the river" --generate 8)" /dev/null \
            </dev/null >"$tmp/tty.out" 2>&1; rc=$?
        "$BIN" run "$S2S/$fam" "the lazy dog near the river" --generate 8 >"$tmp/p.out" 2>/dev/null </dev/null
        first=$(head -n 1 "$tmp/p.out")
        check '[ $rc -eq 0 ] && [ -n "$first" ] && tr -d "\r" <"$tmp/tty.out" | grep -qF -- "$first"' \
            "$fam on a terminal: the stream '$first' shows: $(tr -d '\r' <"$tmp/tty.out" | head -3)"
    else
        bad "'script' (util-linux, Debian bsdutils) is not installed: the terminal stream is untested"
    fi
done
# the width is checked: beyond 5, and for a model that is not an encoder-decoder
"$BIN" run "$S2S/t5" "the dog" --generate 4 --beams 6 >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q -- "--beams" "$tmp/err"' "--beams 6 refused: exit $rc: $(cat "$tmp/err")"
"$BIN" run "$S2S/t5" "the dog" --beams 2 >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q -- "--generate" "$tmp/err"' "--beams without --generate refused: exit $rc: $(cat "$tmp/err")"
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
