# shellcheck shell=bash
# The headless-Chromium harness of the viewer's end-to-end tests (e2e_view.sh,
# e2e_view_seq2seq.sh, e2e_view_attrib.sh), sourced after lib/e2e.sh and e2e_init:
#     . "$(dirname "$0")/lib/view.sh"
# Not a test itself: it lives outside the tests/e2e_*.sh glob that CMakeLists.txt registers.
#
# CHROMIUM: Debian's chromium (or chromium-browser), empty when neither is installed.
# view_need_chromium: fail the whole test now (e2e_finish) when CHROMIUM is empty.
# chrome ARGS...: chromium headless, sandbox off (root in CI), no GPU, a fresh profile each call,
#   every host unreachable; killed after 120 s.
# view NAME ARGS...: gaze view ARGS -o $tmp/NAME.html; ok when it exits 0 and writes a page
#   (its output is shown indented), else bad and return 1.
# view_selftest TAG URL CHECKER ARGS...: the page at URL (its self-test in the hash) dumped by
#   chromium into $tmp/TAG.dom; chromium's exit code and console errors counted; then
#   `python3 CHECKER $tmp/TAG.dom ARGS...`, whose closing line "NAME: N passed, M failed" (NAME
#   the checker's file name without .py) adds N and M to this test's counts.
# shot NAME HASH: a screenshot of $tmp/NAME.html#HASH that is a 1280 x 900 PNG with many distinct
#   colours (a drawn page, not a blank one); kept in $GAZE_VIEW_SHOTS when that is set.

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

view_need_chromium() {
    [ -n "$CHROMIUM" ] || { bad "chromium is not installed (scripts/install-deps installs it)"; e2e_finish; }
}

view_n_profile=0
chrome() {
    view_n_profile=$((view_n_profile + 1))
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --no-default-browser-check --disable-extensions --disable-background-networking --disable-sync \
        --disable-component-update --mute-audio --user-data-dir="$tmp/profile$view_n_profile" \
        --proxy-server=127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND" "$@"
}

view() {
    local name=$1
    shift
    if "$GAZE_BIN" view "$@" -o "$tmp/$name.html" >"$tmp/$name.view.out" 2>&1 && [ -s "$tmp/$name.html" ]; then
        ok
        sed 's/^/  /' "$tmp/$name.view.out"
    else
        bad "gaze view $name failed"; sed 's/^/    /' "$tmp/$name.view.out" >&2
        return 1
    fi
}

view_selftest() {
    local tag=$1 url=$2 checker=$3
    shift 3
    local who rc line p f
    who=$(basename "$checker" .py)
    chrome --virtual-time-budget=20000 --dump-dom "$url" >"$tmp/$tag.dom" 2>"$tmp/$tag.chrome.err"
    rc=$?
    [ $rc -eq 0 ] && ok || { bad "$tag: chromium exited $rc"; tail -5 "$tmp/$tag.chrome.err" >&2; }
    if grep -E "Uncaught|Refused to (execute|apply|load)" "$tmp/$tag.chrome.err" >&2; then bad "$tag: console errors"; else ok; fi
    python3 "$checker" "$tmp/$tag.dom" "$@" >"$tmp/$tag.check" 2>&1
    sed 's/^/  /' "$tmp/$tag.check"
    line=$(grep -E "^$who: [0-9]+ passed, [0-9]+ failed\$" "$tmp/$tag.check" | tail -1)
    if [ -z "$line" ]; then bad "$tag: $who printed no summary"; return; fi
    p=$(echo "$line" | sed -E "s/^$who: ([0-9]+) passed, ([0-9]+) failed\$/\\1/")
    f=$(echo "$line" | sed -E "s/^$who: ([0-9]+) passed, ([0-9]+) failed\$/\\2/")
    pass=$((pass + p))
    fail=$((fail + f))
}

shot() {
    local name=$1 hash=$2 png="$tmp/$1-${2//[^a-z0-9]/_}.png"
    chrome --hide-scrollbars --window-size=1280,900 --virtual-time-budget=5000 --screenshot="$png" \
        "file://$tmp/$name.html#$hash" >/dev/null 2>&1
    if python3 - "$png" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
idat, pos = b"", 8
while pos < len(data):
    (n,) = struct.unpack(">I", data[pos:pos + 4]); kind = data[pos + 4:pos + 8]
    if kind == b"IDAT": idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}[ctype]
stride = w * bpp + 1
colours = set()
for y in range(0, h, 7):   # unfiltered bytes are enough to tell a blank page from a drawing
    line = raw[y * stride + 1:(y + 1) * stride]
    for x in range(0, w * bpp, bpp * 5):
        colours.add(line[x:x + 3])
assert w == 1280 and h == 900, "size %dx%d" % (w, h)
assert len(colours) > 40, "only %d distinct colours: blank page?" % len(colours)
EOF
    then ok; else bad "$name: screenshot $hash is not a drawn page"; fi
    [ -n "${GAZE_VIEW_SHOTS:-}" ] && mkdir -p "$GAZE_VIEW_SHOTS" && cp "$png" "$GAZE_VIEW_SHOTS/"
}
