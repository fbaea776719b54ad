#!/usr/bin/env bash
# End to end: `gaze run` on MiniLM writes run files that `gaze info` and `gaze show` read and
# that plain Python (struct + json, no numpy) parses with the expected tensors and shapes;
# bad invocations exit non-zero with a message, never a crash (exit code < 128).
# Needs $GAZE_BIN (ctest sets it) and the fetched model ($GAZE_HOME/models/minilm).
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_run stderr

# run NAME WANT_RC CMD...: runs CMD, stdout+stderr into $tmp/NAME.out, checks the exit code
# (WANT_RC "0", or "nz" = non-zero without a crash)
run() {
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/$name.out" 2>&1
    local rc=$?
    if [ "$want" = 0 ] && [ $rc -ne 0 ]; then
        bad "$name: exit $rc, want 0"; sed 's/^/    /' "$tmp/$name.out" | head -20 >&2; return 1
    fi
    if [ "$want" = nz ] && { [ $rc -eq 0 ] || [ $rc -ge 128 ]; }; then
        bad "$name: exit $rc, want 1..127 (non-zero, no crash)"; sed 's/^/    /' "$tmp/$name.out" | head -20 >&2; return 1
    fi
    ok
    return 0
}

# has NAME PATTERN: the output of NAME contains PATTERN (fixed string)
has() {
    if grep -qF -- "$2" "$tmp/$1.out"; then ok; else bad "$1: output lacks '$2'"; sed 's/^/    /' "$tmp/$1.out" | head -20 >&2; fi
}

e2e_need_bin
e2e_need_model minilm

# Python checker: parses a safetensors file by hand and asserts on tensors and metadata.
cat >"$tmp/check.py" <<'EOF'
import json, math, struct, sys

def load(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        raw = buf[base + b:base + e]
        fmt = {"F32": "f", "I32": "i", "I8": "b", "F16": "e"}[t["dtype"]]
        count = len(raw) // struct.calcsize(fmt)
        assert count == math.prod(t["shape"]), (name, count, t["shape"])
        tensors[name] = (t["dtype"], t["shape"], struct.unpack("<%d%s" % (count, fmt), raw))
    return meta, tensors

def expect(cond, what):
    if not cond:
        print("check.py: FAIL:", what)
        sys.exit(1)

path, mode = sys.argv[1], sys.argv[2]
meta, t = load(path)
toks = json.loads(meta["gaze.tokens"])
T = len(toks)
expect(meta["gaze.arch"] == "bert" and meta["gaze.causal"] == "false", "arch/causal %r" % meta)
expect(meta["gaze.n_layers"] == "6" and meta["gaze.n_heads"] == "12" and meta["gaze.n_kv_heads"] == "12", "shape meta")
expect(t["token_ids"][0] == "I32" and t["token_ids"][1] == [T], "token_ids [T]")
ids = t["token_ids"][2]
expect(ids[0] == 101 and ids[-1] == 102 and toks[0] == "[CLS]" and toks[-1] == "[SEP]", "CLS/SEP %r" % toks)

def rows_sum_to_one(name):
    dtype, shape, v = t[name]
    H, Tq, Tk = shape
    tol = 5e-3 if dtype == "F16" else 1e-4
    for r in range(H * Tq):
        s = sum(v[r * Tk:(r + 1) * Tk])
        expect(abs(s - 1) < tol and min(v[r * Tk:(r + 1) * Tk]) >= 0, "%s row %d sums to %g" % (name, r, s))

if mode == "full":       # every layer and head
    expect(json.loads(meta["gaze.layers"]) == list(range(6)), "layers %s" % meta["gaze.layers"])
    for l in range(6):
        expect(t["attention.%d" % l][1] == [12, T, T], "attention.%d shape %r" % (l, t["attention.%d" % l][1]))
        rows_sum_to_one("attention.%d" % l)
    expect(t["embedding"][1] == [384], "embedding [384]")
    norm = math.sqrt(sum(x * x for x in t["embedding"][2]))
    expect(abs(norm - 1) < 1e-5, "embedding norm %g" % norm)
    expect(toks == sys.argv[3].split(), "tokens %r" % toks)
elif mode == "pair":     # [CLS] a [SEP] b [SEP] with type ids 0.. 1..
    expect(toks == ["[CLS]", "a", "[SEP]", "b", "[SEP]"], "pair tokens %r" % toks)
    expect(list(t["token_type_ids"][2]) == [0, 0, 0, 1, 1], "type ids %r" % (t["token_type_ids"][2],))
    expect(list(t["sequence_ids"][2]) == [-1, 0, -1, 1, -1], "sequence ids %r" % (t["sequence_ids"][2],))
    expect(meta["gaze.text"] == "a" and meta["gaze.pair"] == "b", "text/pair meta")
elif mode == "select":   # --layers 1,3 --heads 0-2 --capture attn,q,k,scores
    expect(json.loads(meta["gaze.layers"]) == [1, 3], "layers %s" % meta["gaze.layers"])
    expect(json.loads(meta["gaze.heads"]) == [0, 1, 2], "heads %s" % meta["gaze.heads"])
    d = int(meta["gaze.d_head"])
    expect(d == 32, "d_head %d" % d)
    names = sorted(k for k in t if "." in k)
    want = sorted("%s.%d" % (p, l) for p in ("attention", "q", "k", "scores") for l in (1, 3))
    expect(names == want, "tensors %r" % names)
    for l in (1, 3):
        expect(t["attention.%d" % l][1] == [3, T, T], "attention shape")
        expect(t["scores.%d" % l][1] == [3, T, T], "scores shape")
        expect(t["q.%d" % l][1] == [3, T, d], "q shape %r" % t["q.%d" % l][1])
        expect(t["k.%d" % l][1] == [3, T, d], "k shape %r" % t["k.%d" % l][1])
        rows_sum_to_one("attention.%d" % l)
        q, k, s, a = (t["%s.%d" % (p, l)][2] for p in ("q", "k", "scores", "attention"))
        for h in range(3):   # scores = q.k / sqrt(d), attention = softmax(scores)
            for i in range(T):
                row = [sum(q[(h * T + i) * d + e] * k[(h * T + j) * d + e] for e in range(d)) / math.sqrt(d) for j in range(T)]
                got = s[(h * T + i) * T:(h * T + i + 1) * T]
                expect(max(abs(x - y) for x, y in zip(row, got)) < 1e-4, "scores.%d head %d row %d" % (l, h, i))
                m = max(got); ex = [math.exp(x - m) for x in got]; z = sum(ex)
                att = a[(h * T + i) * T:(h * T + i + 1) * T]
                expect(max(abs(x / z - y) for x, y in zip(ex, att)) < 1e-5, "softmax(scores.%d) head %d row %d" % (l, h, i))
elif mode == "f16":
    expect(t["attention.0"][0] == "F16", "attention stored as F16")
    rows_sum_to_one("attention.0")
print("check.py: %s ok: T=%d, %d tensors" % (mode, T, len(t)))
EOF

G=$GAZE_BIN
# 1. a full run, then info and show read it
text="The quick brown fox jumps over the lazy dog."
run run_full 0 "$G" run minilm "$text" -o "$tmp/r.safetensors" && has run_full "captured 6 layers x 12 heads"
if [ -f "$tmp/r.safetensors" ]; then ok; else bad "run_full wrote no file"; fi
run py_full 0 python3 "$tmp/check.py" "$tmp/r.safetensors" full "[CLS] the quick brown fox jumps over the lazy dog . [SEP]"
run info_run 0 "$G" info "$tmp/r.safetensors"
has info_run "gaze run (format 1)"; has info_run "6 layers, 12 heads"; has info_run "\"jumps\""
has info_run "attention.5  F32 [12, 12, 12]"
run show 0 "$G" show "$tmp/r.safetensors" --no-color --layer 2 --head 3
has show "layer 2, head 3"; has show "[CLS]"; has show "top attended keys"
if grep -q $'\x1b' "$tmp/show.out"; then bad "show --no-color printed escape codes"; else ok; fi
run info_model 0 "$G" info "$MODELS/minilm"
has info_model "384"

# 2. a sentence pair
run run_pair 0 "$G" run minilm "a" --pair "b" -o "$tmp/p.safetensors" && has run_pair "[CLS] a [SEP] b [SEP]"
run py_pair 0 python3 "$tmp/check.py" "$tmp/p.safetensors" pair

# 3. a selection of layers and heads, with q, k and scores
run run_sel 0 "$G" run minilm "x" --layers 1,3 --heads 0-2 --capture attn,q,k,scores -o "$tmp/s.safetensors"
run py_sel 0 python3 "$tmp/check.py" "$tmp/s.safetensors" select
run info_sel 0 "$G" info "$tmp/s.safetensors" && has info_sel "3 of 12 heads"
run show_sel_missing nz "$G" show "$tmp/s.safetensors" --no-color --layer 2 && has show_sel_missing "layer 2"

# 4. f16 storage, a live show, truncation
run run_f16 0 "$G" run minilm "hello world" --f16 -o "$tmp/h.safetensors"
run py_f16 0 python3 "$tmp/check.py" "$tmp/h.safetensors" f16
run show_live 0 "$G" show minilm "hello world" --no-color --layer 0 --head max && has show_live "hello"
long=$(for i in $(seq 600); do printf 'word '; done)
run too_long nz "$G" run minilm "$long" -o "$tmp/l.safetensors" && has too_long "--truncate"
if [ -e "$tmp/l.safetensors" ]; then bad "a failed run left a file"; else ok; fi
run trunc 0 "$G" run minilm "$long" --truncate --layers 5 -o "$tmp/t.safetensors" && has trunc "512 tokens"

# 5. bad invocations: non-zero exit with a message, never a crash
run no_model nz "$G" run /nonexistent/model "hi" -o "$tmp/x.safetensors" && has no_model "/nonexistent/model"
run unknown_name nz "$G" run not-a-model "hi" && has unknown_name "not-a-model"
run bad_flag nz "$G" run minilm "hi" --bogus && has bad_flag "--bogus"
run bad_layer nz "$G" run minilm "hi" --layers 6 && has bad_layer "--layers"
run bad_layer_syntax nz "$G" run minilm "hi" --layers 1,x && has bad_layer_syntax "--layers"
run bad_head nz "$G" run minilm "hi" --heads 12 && has bad_head "--heads"
run bad_capture nz "$G" run minilm "hi" --capture attn,nope && has bad_capture "nope"
run no_text nz "$G" run minilm
run bad_utf8 nz "$G" run minilm $'caf\xe9' && has bad_utf8 "offset 3"
run missing_out_dir nz "$G" run minilm "hi" -o "$tmp/no/such/dir/r.safetensors" && has missing_out_dir "no/such/dir"
run info_missing nz "$G" info "$tmp/nothing.safetensors"
printf 'not a safetensors file at all' >"$tmp/junk.safetensors"
run show_junk nz "$G" show "$tmp/junk.safetensors" && has show_junk "junk.safetensors"
run info_junk nz "$G" info "$tmp/junk.safetensors" && has info_junk "junk.safetensors"
head -c 100 "$tmp/r.safetensors" >"$tmp/cut.safetensors"
run show_cut nz "$G" show "$tmp/cut.safetensors" && has show_cut "cut.safetensors"
mkdir -p "$tmp/notbert" && printf '{"model_type": "xlnet"}' >"$tmp/notbert/config.json"
run not_bert nz "$G" run "$tmp/notbert" "hi" && has not_bert "xlnet"
run unknown_cmd nz "$G" frobnicate

e2e_finish
