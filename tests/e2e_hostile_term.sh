#!/usr/bin/env bash
# Strings from files never reach the terminal raw. A hostile model folder (a copy of MiniLM
# whose folder name, unknown token and config carry ESC sequences, an OSC 52 clipboard write,
# the UTF-8 C1 controls CSI (U+009B) and OSC (U+009D) and bidi overrides), a run file whose
# model name and tokens carry the same, and corpus shards made from them go through every
# command; all their output (stdout and stderr, piped, so gaze adds no colours) must hold no
# ESC byte, no C1 control, no bidi control and no line/paragraph separator.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_hostile_term
e2e_need_model minilm

# The hostile text: CSI 2J (clear screen), OSC 52 (clipboard), OSC 0 (title), C1 CSI and OSC,
# RLO/LRI bidi controls, RLM, a line separator.
H=$'\e[2J\e]52;c;aGFjaw==\a\e]0;pwned\a\xc2\x9b31m\xc2\x9d0;t\a\xe2\x80\xae\xe2\x81\xa6\xe2\x80\x8f\xe2\x80\xa8'
M="$tmp/mini${H}lm"          # the model's name is its path
mkdir -p "$M"
for f in "$MODELS"/minilm/*; do
    case "$(basename "$f")" in
        model.safetensors) ln -s "$f" "$M/model.safetensors" ;;
        *) cp -r "$f" "$M/" ;;
    esac
done
python3 - "$M" "$H" <<'EOF'
import json, sys
d, h = sys.argv[1], sys.argv[2].encode("utf-8", "surrogateescape").decode("utf-8")
unk = "[UNK]" + h
t = json.load(open(d + "/tokenizer.json"))
v = t["model"]["vocab"]
v[unk] = v.pop("[UNK]")
t["model"]["unk_token"] = unk
for a in t.get("added_tokens", []):
    if a["content"] == "[UNK]": a["content"] = unk
json.dump(t, open(d + "/tokenizer.json", "w"))
lines = open(d + "/vocab.txt", encoding="utf-8").read().split("\n")
lines = [unk if x == "[UNK]" else x for x in lines]
open(d + "/vocab.txt", "w", encoding="utf-8").write("\n".join(lines))
for name in ("tokenizer_config.json", "special_tokens_map.json"):
    try:
        c = json.load(open(d + "/" + name))
    except FileNotFoundError:
        continue
    if c.get("unk_token") == "[UNK]": c["unk_token"] = unk
    json.dump(c, open(d + "/" + name, "w"))
c = json.load(open(d + "/config.json"))
c["architectures"] = ["BertModel", "Bert" + h]
json.dump(c, open(d + "/config.json", "w"))
# a second copy whose config is refused: the error message quotes the hostile value
c["hidden_act"] = "gelu" + h
json.dump(c, open(d + "/config_bad.json", "w"))
EOF
B="$tmp/bad${H}model"
mkdir -p "$B"
for f in "$M"/*; do ln -s "$f" "$B/$(basename "$f")"; done
rm "$B/config.json"
mv "$M/config_bad.json" "$B/config.json"
rm -f "$B/config_bad.json"

TEXT=$'the cat \xf0\x9f\xa6\x9c sat on the mat'   # the parrot is not in the vocab: [UNK]

# All output of one command, stdout and stderr, into $tmp/out.NAME; the exit code is kept.
run() {
    local name=$1; shift
    "$@" >"$tmp/out.$name" 2>&1
    echo $? >"$tmp/rc.$name"
}

run run "$BIN" run "$M" "$TEXT" -o "$tmp/r.safetensors"
if [ -s "$tmp/r.safetensors" ]; then ok; else bad "gaze run wrote no run file"; cat "$tmp/out.run"; fi
# the run file again, with every token and the model name made hostile in its metadata
python3 - "$tmp/r.safetensors" "$tmp/h.safetensors" "$H" <<'EOF'
import json, struct, sys
src, dst, h = sys.argv[1], sys.argv[2], sys.argv[3].encode("utf-8", "surrogateescape").decode("utf-8")
b = open(src, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
hdr = json.loads(b[8:8 + n])
m = hdr["__metadata__"]
toks = json.loads(m["gaze.tokens"])
toks = [t + h if i % 2 else h + t for i, t in enumerate(toks)]
m["gaze.tokens"] = json.dumps(toks)
m["gaze.model"] = "model" + h
out = json.dumps(hdr).encode()
out += b" " * (-(8 + len(out)) % 8)
open(dst, "wb").write(struct.pack("<Q", len(out)) + out + b[8 + n:])
EOF
R="$tmp/h.safetensors"
run show "$BIN" show "$R"
run show_live "$BIN" show "$M" "$TEXT" --layer 1 --head 2
run heads "$BIN" heads "$R"
run heads_json "$BIN" heads "$R" --json
run rollout "$BIN" rollout "$R"
run rollout_heat "$BIN" rollout "$R" --all
run rollout_json "$BIN" rollout "$R" --json
run flow "$BIN" flow "$R"
run diff "$BIN" diff "$R" "$tmp/r.safetensors"
run diff_live "$BIN" diff "$M" "$TEXT" "${TEXT/cat/dog}"
run info_run "$BIN" info "$R"
run info_model "$BIN" info "$M"
run plot "$BIN" plot "$R" -o "$tmp/p.png"
run view "$BIN" view "$R" -o "$tmp/v.html"
run ablate "$BIN" ablate "$M" "$TEXT" --layers 0 --top 3
printf '%s\n' "$TEXT" "a second line $H with the parrot \xf0\x9f\xa6\x9c" "third" "fourth" >"$tmp/corpus${H}.txt"
run corpus0 "$BIN" corpus "$M" "$tmp/corpus${H}.txt" -o "$tmp/s0.json" --shard 0/2
run corpus1 "$BIN" corpus "$M" "$tmp/corpus${H}.txt" -o "$tmp/s1.json" --shard 1/2
run merge "$BIN" merge "$tmp/s0.json" "$tmp/s1.json"
run merge_json "$BIN" merge "$tmp/s0.json" "$tmp/s1.json" --json
# a shard edited by hand: another model name, so merging is refused and the message quotes it
python3 - "$tmp/s1.json" "$tmp/s1x${H}.json" "$H" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s["model"] = "other" + sys.argv[3].encode("utf-8", "surrogateescape").decode("utf-8")
json.dump(s, open(sys.argv[2], "w"))
EOF
run merge_bad "$BIN" merge "$tmp/s0.json" "$tmp/s1x${H}.json"
run run_bad "$BIN" run "$B" "hello"
run show_missing "$BIN" show "$tmp/none${H}.safetensors"
# a GGUF whose metadata strings (name, a token list) carry the same
python3 - "$tmp/h.gguf" "$H" <<'EOF2'
import struct, sys
h = sys.argv[2].encode("utf-8", "surrogateescape")
def s(b): return struct.pack("<Q", len(b)) + b
kv = s(b"general.name") + struct.pack("<I", 8) + s(b"evil" + h)
kv += s(b"tokenizer.ggml.tokens") + struct.pack("<II", 9, 8) + struct.pack("<Q", 2) + s(b"a" + h) + s(b"b")
open(sys.argv[1], "wb").write(b"GGUF" + struct.pack("<IQQ", 3, 0, 2) + kv)
EOF2
run info_gguf "$BIN" info "$tmp/h.gguf"

# Every command ran (exit codes: the refusals are meant to fail, the rest to succeed).
for n in run show show_live heads heads_json rollout rollout_heat rollout_json flow diff diff_live info_run info_model info_gguf plot view ablate corpus0 corpus1 merge merge_json; do
    if [ "$(cat "$tmp/rc.$n")" = 0 ]; then ok; else bad "$n: exit code $(cat "$tmp/rc.$n")"; head -5 "$tmp/out.$n"; fi
done
for n in merge_bad run_bad show_missing; do
    rc=$(cat "$tmp/rc.$n")
    if [ "$rc" -ge 1 ] && [ "$rc" -lt 128 ]; then ok; else bad "$n: exit code $rc, want a refusal"; fi
done
# The hostile strings did reach the output (escaped), so the scan below looks at real text.
if grep -qF '[UNK]\x1b[2J' "$tmp/out.run"; then ok; else bad "run: the [UNK] token is not shown escaped"; head -3 "$tmp/out.run"; fi
if grep -qF '\u009B31m' "$tmp/out.info_model"; then ok; else bad "info: C1 CSI not shown as \\u009B"; fi
if grep -qF '\u202E' "$tmp/out.run_bad"; then ok; else bad "error message: RLO not shown as \\u202E"; head -3 "$tmp/out.run_bad"; fi

# The scan: ESC, C1 controls (UTF-8 C2 80..9F), bidi marks/embeddings/overrides/isolates,
# U+2028/9 and U+FEFF, in any command's output.
python3 - "$tmp" <<'EOF'
import glob, os, re, sys
bad = re.compile(rb"\x1b|\xc2[\x80-\x9f]|\xd8\x9c|\xe2\x80[\x8e\x8f\xa8-\xae]|\xe2\x81[\xa6-\xa9]|\xef\xbb\xbf")
found = 0
for p in sorted(glob.glob(os.path.join(sys.argv[1], "out.*"))):
    data = open(p, "rb").read()
    m = bad.search(data)
    if m:
        found += 1
        s = max(0, m.start() - 40)
        print("FAIL: %s: raw %r at byte %d: %r" % (os.path.basename(p)[4:], m.group(), m.start(), data[s:m.end() + 20]))
print("scanned %d outputs, %d with raw terminal controls" % (len(glob.glob(os.path.join(sys.argv[1], "out.*"))), found))
sys.exit(1 if found else 0)
EOF
if [ $? -eq 0 ]; then ok; else bad "raw terminal controls in the output (above)"; fi

e2e_finish
