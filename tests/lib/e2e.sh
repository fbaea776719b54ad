# shellcheck shell=bash
# The shared preamble of the shell end-to-end tests (tests/e2e_*.sh), sourced by each:
#     set -u
#     . "$(dirname "$0")/lib/e2e.sh"
#     e2e_init e2e_NAME            # or: e2e_init e2e_NAME stderr
# Not a test itself: it lives outside the tests/e2e_*.sh glob that CMakeLists.txt registers.
#
# e2e_init NAME [stderr]: pass=0, fail=0; GAZE_BIN (default build/bin/gaze; ctest sets it) and
#   BIN, the same path under the name older scripts use; MODELS, the fetched test models
#   ($GAZE_HOME/models, default ~/.cache/gaze/models); tmp, a fresh temporary folder removed on
#   exit (kept when GAZE_KEEP_TMP is set). A script that sets its own EXIT trap replaces this one
#   and removes "$tmp" itself. With "stderr", bad's FAIL lines go to stderr, else to stdout.
# ok, bad MESSAGE...: count a passed / failed assertion (bad prints "FAIL: MESSAGE").
# check EXPR MESSAGE: ok when `eval EXPR` succeeds, else bad MESSAGE. Scripts whose check differs
#   define their own after sourcing this file.
# e2e_need_bin: fail the whole test now (e2e_finish) when $GAZE_BIN is not an executable.
# e2e_need_model minilm|smollm2...: the same when a model is not fetched.
# e2e_run_meta RUN KEY...: print the values of KEYs in the safetensors run file RUN's
#   __metadata__, space-separated ("None" for a missing key).
# e2e_finish: the closing line "NAME: N passed, M failed" (CI reads it), then exit 0 when
#   nothing failed, 1 otherwise.

e2e_init() {
    e2e_name=$1
    e2e_fail_fd=1
    [ "${2:-}" = stderr ] && e2e_fail_fd=2
    pass=0
    fail=0
    GAZE_BIN=${GAZE_BIN:-build/bin/gaze}
    BIN=$GAZE_BIN
    MODELS=${GAZE_HOME:-$HOME/.cache/gaze}/models
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/gaze_$e2e_name.XXXXXX")
    trap '[ -n "${GAZE_KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
}

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&"$e2e_fail_fd"; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

e2e_finish() {
    echo "$e2e_name: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}

e2e_need_bin() {
    [ -x "$GAZE_BIN" ] || { bad "GAZE_BIN=$GAZE_BIN is not an executable (build first)"; e2e_finish; }
}

e2e_need_model() {
    local m file label
    for m in "$@"; do
        case $m in
            minilm) file=model.safetensors label=MiniLM ;;
            smollm2) file=SmolLM2-135M-Instruct.Q4_1.gguf label=SmolLM2 ;;
            *) bad "e2e_need_model: unknown model '$m'"; e2e_finish ;;
        esac
        [ -f "$MODELS/$m/$file" ] || { bad "$label is not at $MODELS/$m (run scripts/fetch-test-models)"; e2e_finish; }
    done
}

e2e_run_meta() {
    python3 - "$@" <<'EOF'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    m = json.loads(f.read(n))["__metadata__"]
print(*[m.get(k) for k in sys.argv[2:]])
EOF
}
