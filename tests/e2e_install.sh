#!/usr/bin/env bash
# gaze installs like a library: `cmake --install` into a temporary prefix gives bin/gaze, the
# shared library with its SONAME and only gaze_* exported, the static library, gaze.h, gaze.pc,
# the man page and the bash completion. The README's C example (examples/hello.c) is built
# with pkg-config against the shared library (and statically, through Libs.private), run, and
# its numbers compared with the run file the installed CLI writes for the same head.
set -u
SRC=${GAZE_SOURCE_DIR:-$PWD}
BUILD=${GAZE_BUILD_DIR:-$SRC/build}
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_install
expect() { if [ "$1" = "$2" ]; then ok; else bad "$3: got '$1', want '$2'"; fi; }
has() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: output lacks '$2'"; printf '%s\n' "$1" | head -20; fi; }
hasre() { if grep -qE -- "$2" <<<"$1"; then ok; else bad "$3: output lacks /$2/"; printf '%s\n' "$1" | head -20; fi; }
P=$tmp/prefix
SAN=()
[ "${GAZE_SANITIZE:-OFF}" = ON ] && SAN=(-fsanitize=address,undefined)

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
hasre "$version" '^[0-9]+\.[0-9]+\.[0-9]+$' "project version in CMakeCache.txt"
major=${version%%.*}
LIB=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$BUILD/CMakeCache.txt")   # lib, or lib/<multiarch> for /usr
LIB=${LIB:-lib}

# 1. Install into the prefix; every file where it belongs.
out=$(cmake --install "$BUILD" --prefix "$P" 2>&1); rc=$?
expect "$rc" 0 "cmake --install exit code"
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -20
export PKG_CONFIG_PATH=$P/$LIB/pkgconfig
libdir=$(pkg-config --variable=libdir gaze 2>&1)
expect "$(readlink -f "$libdir")" "$(readlink -f "$P/$LIB")" "pkg-config libdir"
for f in bin/gaze "$LIB/libgaze.a" "$LIB/libgaze.so.$version" include/gaze.h "$LIB/pkgconfig/gaze.pc" \
         share/man/man1/gaze.1 share/bash-completion/completions/gaze; do
    if [ -f "$P/$f" ]; then ok; else bad "not installed: $f"; fi
done
expect "$(readlink "$P/$LIB/libgaze.so.$major")" "libgaze.so.$version" "libgaze.so.$major link"
expect "$(readlink "$P/$LIB/libgaze.so")" "libgaze.so.$major" "libgaze.so link"
expect "$(pkg-config --modversion gaze 2>&1)" "$version" "pkg-config --modversion"
has "$(pkg-config --print-requires-private gaze 2>&1)" "jansson" "Requires.private"
has "$(pkg-config --print-requires-private gaze 2>&1)" "pangocairo" "Requires.private"
has "$(pkg-config --static --libs gaze 2>&1)" "-lgomp" "Libs.private (OpenMP)"

# 2. The shared library: SONAME, and nothing but gaze_* exported (and only what gaze.h declares).
so=$P/$LIB/libgaze.so.$version
has "$(readelf -d "$so" 2>&1)" "Library soname: [libgaze.so.$major]" "SONAME"
syms=$(nm -D --defined-only "$so" | awk '{ print $3 }')
has "$syms" "gaze_model_load" "gaze_model_load exported"
has "$syms" "gaze_version" "gaze_version exported"
others=$(grep -v '^gaze_' <<<"$syms" | tr '\n' ' ')
expect "$others" "" "exported symbols that are not gaze_*"
undeclared=""
for s in $syms; do grep -qw -- "$s" "$P/include/gaze.h" || undeclared+="$s "; done
expect "$undeclared" "" "exported symbols gaze.h does not declare"

# 3. The CLI from the prefix: version and ISA.
out=$("$P/bin/gaze" --version 2>&1); rc=$?
expect "$rc" 0 "gaze --version exit code"
expect "$(head -n 1 <<<"$out")" "gaze $version" "gaze --version first line"
hasre "$(sed -n 2p <<<"$out")" '^isa: (scalar|avx2|avx512)$' "gaze --version ISA line"
expect "$("$P/bin/gaze" version 2>&1)" "$out" "gaze version = gaze --version"
expect "$(GAZE_ISA=scalar "$P/bin/gaze" --version 2>&1 | sed -n 2p)" "isa: scalar" "GAZE_ISA=scalar"
has "$("$P/bin/gaze" --help 2>&1)" "version" "gaze --help lists version"

# 4. The README's example is examples/hello.c, verbatim.
readme_c=$(awk '/^```c$/ { on = 1; buf = ""; next } on && /^```$/ { on = 0; if (buf ~ /README.s C example/) printf "%s", buf; next }
               on { buf = buf $0 "\n" }' "$SRC/README.md")
expect "$readme_c" "$(cat "$SRC/examples/hello.c")" "README's C example = examples/hello.c"

# 5. Build it with pkg-config against the shared library; run it with LD_LIBRARY_PATH.
out=$(cc "${SAN[@]}" "$SRC/examples/hello.c" $(pkg-config --cflags --libs gaze) -o "$tmp/hello" 2>&1); rc=$?
expect "$rc" 0 "cc hello.c \$(pkg-config --cflags --libs gaze)"
[ -n "$out" ] && bad "compiler output: $out"
has "$(readelf -d "$tmp/hello" 2>&1)" "Shared library: [libgaze.so.$major]" "hello needs libgaze.so.$major"
text="The cat sat on the mat."
dyn=$(LD_LIBRARY_PATH=$P/$LIB "$tmp/hello" "$text" 2>&1); rc=$?
expect "$rc" 0 "hello exit code"
expect "$(head -n 1 <<<"$dyn")" "gaze $version: layer 2, head 5, 9 tokens" "hello header"
# Statically, through Requires.private / Libs.private.
out=$(cc "${SAN[@]}" "$SRC/examples/hello.c" $(pkg-config --cflags gaze) "$P/$LIB/libgaze.a" \
      $(pkg-config --static --libs gaze | sed -E 's/(^| )-lgaze( |$)/ /') -o "$tmp/hello_static" 2>&1); rc=$?
expect "$rc" 0 "static link with pkg-config --static"
[ -n "$out" ] && bad "compiler output (static): $out"
if readelf -d "$tmp/hello_static" | grep -q libgaze; then bad "hello_static needs libgaze.so"; else ok; fi
expect "$("$tmp/hello_static" "$text" 2>&1)" "$dyn" "static and shared example agree"

# The printed head is the one the installed CLI captures: compare with its run file.
"$P/bin/gaze" run minilm "$text" --layers 2 --heads 5 -o "$tmp/r.safetensors" >/dev/null 2>&1
expect "$?" 0 "gaze run minilm --layers 2 --heads 5"
printf '%s\n' "$dyn" > "$tmp/hello.out"
cmp=$(python3 - "$tmp/r.safetensors" "$tmp/hello.out" 2>&1 <<'EOF'
import json, struct, sys
lines = open(sys.argv[2], encoding="utf-8").read().splitlines()[1:]
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(n))
    blob = f.read()
tokens = json.loads(hdr["__metadata__"]["gaze.tokens"])
t = hdr["attention.2"]
assert t["dtype"] == "F32" and t["shape"] == [1, len(tokens), len(tokens)], t
a, b = t["data_offsets"]
w = struct.unpack("<%df" % (len(tokens) ** 2), blob[a:b])
T = len(tokens)
assert len(lines) == T, "%d rows printed, %d tokens" % (len(lines), T)
worst = 0.0
for i, line in enumerate(lines):
    parts = line.split()
    assert parts[0] == tokens[i], (parts[0], tokens[i])
    vals = [float(x) for x in parts[1:]]
    assert len(vals) == T, "row %d: %d values" % (i, len(vals))
    assert abs(sum(vals) - 1) < 1e-3, "row %d sums to %f" % (i, sum(vals))
    worst = max(worst, max(abs(v - w[i * T + j]) for j, v in enumerate(vals)))
assert worst <= 5.1e-5, "largest difference from the run file %g" % worst
print("ok", T)
EOF
)
expect "$cmp" "ok 9" "hello's attention = the run file's attention.2 (head 5)"
[ "$cmp" = "ok 9" ] || { printf '%s\n' "$dyn" | head -5; }

# 6. The man page renders, from the binary's help texts.
man=$(MANWIDTH=100 man -P cat -l "$P/share/man/man1/gaze.1" 2>&1); rc=$?
expect "$rc" 0 "man -l exit code"
hasre "$man" "gaze - attention engine" "man NAME"
has "$man" "COMMANDS" "man COMMANDS section"
has "$man" "gaze plot" "man: gaze plot section"
has "$man" "--kind heatmap|model|head|bars" "man: gaze plot --help text"
has "$man" "GAZE_ISA" "man ENVIRONMENT"
has "$man" "$version" "man version"

# 7. The completion loads in bash and completes commands, flags, choices, models and -o files.
comp=$P/share/bash-completion/completions/gaze
expect "$(bash --norc --noprofile -c "source '$comp' && complete -p gaze" 2>&1)" "complete -F _gaze gaze" "complete -p gaze"
touch "$tmp/figure.svg"
complete_words() {   # complete_words WORD... : what _gaze offers for the last word
    PATH="$P/bin:$PATH" bash --norc --noprofile -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _gaze
        printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$comp" "$@" 2>&1
}
expect "$(complete_words gaze ro)" "rollout " "complete 'gaze ro'"
has "$(complete_words gaze v)" "version" "complete 'gaze v'"
has "$(complete_words gaze v)" "view" "complete 'gaze v'"
has "$(complete_words gaze run minilm "t" --la)" "--layers" "complete 'gaze run ... --la'"
expect "$(complete_words gaze plot r.safetensors --kind h)" "head heatmap " "complete 'gaze plot --kind h'"
expect "$(complete_words gaze fetch s)" "smollm2 " "complete 'gaze fetch s'"
has "$(complete_words gaze run m)" "minilm" "complete 'gaze run m'"
expect "$(complete_words gaze plot r.safetensors -o "$tmp/fig")" "$tmp/figure.svg " "complete -o FILE"

e2e_finish
