#!/usr/bin/env python3
"""Checks one `gaze view` page as headless Chromium rendered it (tests/e2e_view.sh).

usage: view_check.py DOM PAGE RUN [--expect NAME ...] [--hostile] [--max-tti MS] [--gaze BIN]

DOM is `chromium --dump-dom PAGE#selftest`, PAGE the HTML file, RUN the run file it was made
from. The page's self-test drives the viewer (selectors, hover, toggles) and writes what it
saw into <pre id="gaze-selftest">; this script
  - requires every self-test check to pass (and the --expect ones to be present),
  - re-derives every hovered weight from RUN by the C rules (special tokens hidden with rows
    renormalised; TO a word = sum over its pieces, FROM a word = mean over its pieces), as the
    page's encoding stores it (f16 rounding, or u8 code round(255·sqrt(w))), and compares it
    with the tooltip text,
  - compares every hovered rollout / flow value of the rollout panel with `gaze rollout --json
    --all` and `gaze flow --json --token T` on RUN (--gaze BIN; default build/bin/gaze), under
    the same rules (output word = mean of its tokens' rows, input word = sum, hidden special
    inputs dropped and the row renormalised), within the page's f16 rounding (of v * 2^15),
  - image runs: the page's image bytes equal the run's `image` tensor, and every value of the
    image tab's hovered-patch overlay and thumbnails (recorded by the self-test) equals the
    stored weights of RUN (mean or max over the heads, one query row or the mean over patches),
  - encoder-decoder pages (one page, three kinds): the self-test runs in the kind the URL names
    (#kind=decoder&selftest) and says which; its probes are recomputed from that kind's tensors
    (decoder.attention.L: causal over the target tokens; cross.attention.L: rows are target
    tokens, keys source tokens), the alignment view's hovered cells (mean or one head, tokens or
    words: a target word is the mean of its pieces' rows, a source word the sum of its pieces'
    columns) included, and the kind selector and alignment tab must have been exercised,
  - checks the rendered DOM holds no element or attribute that the page does not make itself.
Standard library only. Prints "view_check: N passed, M failed" and exits 1 on a failure.
"""
import base64
import html
import json
import math
import re
import struct
import subprocess
import sys

import selftest
from selftest import ok


class Run:
    """Attention of a run file, read lazily with struct (no numpy)."""

    def __init__(self, path):
        self.prefix = ""   # "decoder." / "cross.": the tensors of another kind of an encoder-decoder run
        with open(path, "rb") as f:
            self.buf = f.read()
        (n,) = struct.unpack("<Q", self.buf[:8])
        self.header = json.loads(self.buf[8:8 + n].decode("utf-8"))
        self.base = 8 + n
        self.meta = self.header.get("__metadata__", {})

    def row(self, layer, head_ix, row, T):
        t = self.header["%sattention.%d" % (self.prefix, layer)]
        size = {"F32": 4, "F16": 2}[t["dtype"]]
        _, tq, tk = t["shape"]
        off = self.base + t["data_offsets"][0] + ((head_ix * tq + row) * tk) * size
        fmt = "<%d%s" % (tk, "f" if size == 4 else "e")
        return list(struct.unpack(fmt, self.buf[off:off + tk * size]))


    def tensor_bytes(self, name):
        t = self.header[name]
        return self.buf[self.base + t["data_offsets"][0]:self.base + t["data_offsets"][1]]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def stored(w, enc):
    """The weight as the page stores it."""
    w = min(max(w, 0.0), 1.0)
    if enc == "f16":
        return struct.unpack("<e", struct.pack("<e", w))[0]
    q = int(f32(f32(255.0 * f32(math.sqrt(w))) + 0.5)) if w > 0 else 0
    return (q / 255.0) ** 2


# heatmap, model view, steps: query / key; the alignment view: target / source
TIP = re.compile(r'^layer (\d+) (?:head (\d+)|(mean|max) of (\d+) heads)\n'
                 r'(?:query|target) .*\(#(\d+)(?:\u2013(\d+))?\)\n'
                 r'(?:key  |source) .*\(#(\d+)(?:\u2013(\d+))?\)\n'
                 r'weight (.*)$', re.S)


SUMMARY = re.compile(r'^layer (\d+) head (\d+) \(block means\)\nqueries #(\d+)\u2013(\d+) \u2192 keys #(\d+)\u2013(\d+): \u2248([0-9.]+)$')


def check_summary(p, run, meta):
    m = SUMMARY.match(p["text"])
    if not ok(m is not None, "summary probe: tooltip not understood: %r" % p["text"]):
        return
    layer, head = int(m.group(1)), meta["heads"].index(int(m.group(2)))
    q0, q1, k0, k1 = (int(m.group(i)) for i in range(3, 7))
    rows = [r for r, t in enumerate(meta["q_rows"]) if q0 <= t <= q1]
    s = 0.0
    for r in rows:
        row = run.row(layer, head, r, meta["T"])
        s += sum(row[k0:k1 + 1])
    want = stored(s / (len(rows) * (k1 - k0 + 1)), "u8")
    ok(abs(float(m.group(7)) - want) <= 5e-4 + 2e-6, "summary probe: shown %s, the run gives %.6f (layer %d head %d, "
       "queries #%d-%d, keys #%d-%d)" % (m.group(7), want, layer, head, q0, q1, k0, k1))


def check_probe(p, run, meta):
    text = p["text"]
    if p["mode"] == "summary":
        return check_summary(p, run, meta)
    m = TIP.match(text)
    if not ok(m is not None, "probe %s/%s: tooltip not understood: %r" % (p["view"], p["mode"], text)):
        return
    layer = int(m.group(1))
    heads = [meta["heads"].index(int(m.group(2)))] if m.group(2) else list(range(len(meta["heads"])))
    if m.group(3):
        ok(int(m.group(4)) == len(meta["heads"]), "probe: self-test expected every head selected")
    q0, q1 = int(m.group(5)), int(m.group(6) or m.group(5))
    k0, k1 = int(m.group(7)), int(m.group(8) or m.group(7))
    shown = m.group(9)
    enc = meta["enc"]
    T, q_rows, special = meta["T"], meta["q_rows"], meta["special"]
    hide = "hide" in p["mode"]
    if shown.startswith("0 (masked"):
        ok(meta["causal"] and k0 > q1, "probe %r: masked cell that is not after the query" % text)
        return
    exact = not shown.startswith("\u2248")
    value = float(shown.lstrip("\u2248"))
    ok(exact == (enc == "f16"), "probe %r: precision mark does not match the page's encoding %s" % (text, enc))
    rows = [r for r, t in enumerate(q_rows) if q0 <= t <= q1]
    keys = range(k0, k1 + 1)
    visible = [j for j in range(T) if not (hide and special[j])]
    # steps view: one query token's row, columns grouped, mean over heads
    total, norm = 0.0, 0.0
    for h in heads:
        for r in rows:
            row = [stored(w, enc) for w in run.row(layer, h, r, T)]
            total += sum(row[j] for j in keys) / len(rows)
            norm += sum(row[j] for j in visible) / len(rows)
    total /= len(heads)
    norm /= len(heads)
    want = total / norm if hide and any(special) and norm > 0 else total
    digits = 4 if exact else 3
    tol = 0.5 * 10 ** -digits + 2e-6
    ok(abs(value - want) <= tol, "probe %s/%s: shown %s, the run gives %.6f (layer %d, queries #%d-%d, keys #%d-%d)"
       % (p["view"], p["mode"], shown, want, layer, q0, q1, k0, k1))


def check_image_probe(p, run, meta):
    """An image-tab overlay: values[k] is the weight of the cell k's token in the query's row."""
    im, enc, T, q_rows = meta["image"], meta["enc"], meta["T"], meta["q_rows"]
    rows, cols, rc = im["rows"], im["cols"], im["rc"]
    cell_tok = [-1] * (rows * cols)
    for t in range(T):
        if rc[2 * t] >= 0:
            cell_tok[rc[2 * t] * cols + rc[2 * t + 1]] = t
    q = p["query"]
    qs = [q] if q >= 0 else [t for t in range(T) if rc[2 * t] >= 0 and t in q_rows]
    heads = [meta["heads"].index(h) for h in p["heads"]]
    want = [0.0] * T
    for i, h in enumerate(heads):
        acc = [0.0] * T
        for t in qs:
            row = run.row(p["layer"], h, q_rows.index(t), T)
            for j in range(T):
                acc[j] += stored(row[j], enc) / len(qs)
        for j in range(T):
            want[j] = max(want[j], acc[j]) if p["how"] == "max" else want[j] + acc[j] / len(heads)
    cells = [want[t] if t >= 0 else 0.0 for t in cell_tok]
    got = p["values"]
    if not ok(len(got) == len(cells), "image probe %s: %d values for %d cells" % (p["mode"], len(got), len(cells))):
        return
    worst = max(abs(a - b) for a, b in zip(got, cells))
    ok(worst <= 2e-6 + 1e-5 * max(cells), "image probe %s (layer %d, query %d, heads %s, %s): off by %.3g"
       % (p["mode"], p["layer"], q, p["heads"], p["how"], worst))
    ok(max(cells) > 0, "image probe %s: all zero" % p["mode"])


def check_image(page, run, meta, names, probes):
    """The image tab of an image run: checks ran, the image is the run's, overlays are the run's."""
    for e in ["image-tab", "image-pixels", "image-hover-0", "image-hover-1", "image-thumbs", "image-thumb-click"]:
        ok(e in names, "self-test check %s did not run" % e)
    im = meta["image"]
    data = re.search(r'<script type="application/octet-stream" id="gaze-data">(.*?)</script>', page, re.S).group(1)
    payload = base64.b64decode(data.strip())
    n = im["h"] * im["w"] * 3
    ok(payload[im["off"]:im["off"] + n] == run.tensor_bytes("image"), "the page's image is not the run's image tensor")
    img = [p for p in probes if p["view"] == "image"]
    ok(len([p for p in img if p["mode"] == "patch"]) >= 3 and any(p["mode"] == "thumb" for p in img),
       "only %d image probes" % len(img))
    for p in img:
        check_image_probe(p, run, meta)


RO_TIP = re.compile(r'^output .*\(#(\d+)(?:\u2013(\d+))?(?:, hidden)?\)\n'
                    r'input  .*\(#(\d+)(?:\u2013(\d+))?\)\n'
                    r'rollout \((mean|max|min) fusion, (\d+) captured layers?\) (\S+)\n'
                    r'flow(?: \((mean|max|min) fusion\) (\S+)| not in this page for this output)$')


class Analysis:
    """Rollout matrices and flow vectors of RUN, from the gaze CLI (cached)."""

    def __init__(self, gaze, run_path, discard, kind=None):
        self.gaze, self.run, self.discard = gaze, run_path, discard
        self.kind = ["--kind", kind] if kind else []
        self.ro, self.fl = {}, {}

    def _json(self, args):
        out = subprocess.run([self.gaze] + args + [self.run, "--json", "--discard", repr(self.discard)] + self.kind,
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)

    def rollout(self, fusion):
        if fusion not in self.ro:
            d = self._json(["rollout", "--all", "--fusion", fusion])
            T = len(d["tokens"])
            self.ro[fusion] = [d["matrix"][i * T:(i + 1) * T] for i in range(T)]
        return self.ro[fusion]

    def flow(self, fusion, t):
        if (fusion, t) not in self.fl:
            self.fl[(fusion, t)] = self._json(["flow", "--fusion", fusion, "--token", str(t)])["values"]
        return self.fl[(fusion, t)]


n_flow_checked = 0


def check_rollout_probe(p, an, meta):
    global n_flow_checked
    m = RO_TIP.match(p["text"])
    if not ok(m is not None, "rollout probe %s: tooltip not understood: %r" % (p["mode"], p["text"])):
        return
    q0 = int(m.group(1)); q1 = int(m.group(2) or q0)
    k0 = int(m.group(3)); k1 = int(m.group(4) or k0)
    fusion, layers = m.group(5), int(m.group(6))
    ok(layers == meta["rollout"]["layers"], "rollout probe: %d layers, the page has %d" % (layers, meta["rollout"]["layers"]))
    special, T = meta["special"], meta["T"]
    hide = "hide" in p["mode"]
    visible = [j for j in range(T) if not (hide and special[j])]

    def want(rows):
        total = sum(sum(r[k0:k1 + 1]) for r in rows) / len(rows)
        norm = sum(sum(r[j] for j in visible) for r in rows) / len(rows)
        return total / norm if hide and any(special) and norm > 0 else total

    def close(shown, w, what):
        v = float(shown)
        # f16 of w * 2^15 (11 bits, subnormal steps of 1.8e-12) and 4 significant digits shown
        ok(abs(v - w) <= 1.6e-3 * abs(w) + 2e-12, "rollout probe %s: %s shown %s, gaze gives %.7g (output #%d-%d, input #%d-%d)"
           % (p["mode"], what, shown, w, q0, q1, k0, k1))

    R = an.rollout(fusion)
    close(m.group(7), want([R[t] for t in range(q0, q1 + 1)]), "rollout (%s)" % fusion)
    if m.group(8):
        close(m.group(9), want([an.flow(m.group(8), t) for t in range(q0, q1 + 1)]), "flow (%s)" % m.group(8))
        n_flow_checked += 1
    else:
        ok(any(t not in meta["rollout"]["flow"]["tokens"] for t in range(q0, q1 + 1)),
           "rollout probe: flow said missing for output #%d-%d, which the page has" % (q0, q1))


def strip_bodies(dom):
    """The DOM text without the bodies of <script> and <style> elements (code and data)."""
    return re.sub(r"(<(script|style)\b[^>]*>).*?(</\2>)", r"\1\3", dom, flags=re.S | re.I)


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    dom_path, page_path, run_path = argv[1:4]
    expect, hostile, max_tti, gaze = [], False, None, "build/bin/gaze"
    i = 4
    while i < len(argv):
        if argv[i] == "--expect":
            expect.append(argv[i + 1]); i += 2
        elif argv[i] == "--hostile":
            hostile = True; i += 1
        elif argv[i] == "--gaze":
            gaze = argv[i + 1]; i += 2
        elif argv[i] == "--max-tti":
            max_tti = float(argv[i + 1]); i += 2
        else:
            print("view_check: unknown argument " + argv[i], file=sys.stderr)
            return 2
    with open(dom_path, encoding="utf-8", errors="replace") as f:
        dom = f.read()
    with open(page_path, encoding="ascii") as f:
        page = f.read()
    mm = re.search(r'<script type="application/json" id="gaze-meta">(.*?)</script>', page, re.S)
    meta = json.loads(mm.group(1))
    run = Run(run_path)

    res = selftest.read(dom, "%s: no self-test output in the DOM (the script did not run: CSP hash, syntax error?)" % page_path)
    if res is None:
        return finish()
    page_meta, kind = meta, res.get("kind")
    kinds = meta.get("kinds")
    if kinds:   # an encoder-decoder page: the kind the self-test ran in, and its tensors
        if not ok(kind in kinds["list"], "self-test kind %r is not one of the page's %s" % (kind, kinds["list"])):
            return finish()
        meta = meta if kind == kinds["list"][0] else kinds[kind]
        run.prefix = "" if kind == "encoder" else kind + "."
        ok(("gaze.kinds" in run.meta) and json.loads(run.meta["gaze.kinds"]) == kinds["list"],
           "the page's kinds %s are not the run's %s" % (kinds["list"], run.meta.get("gaze.kinds")))
    else:
        ok(kind is None, "a single-kind page's self-test names kind %r" % kind)
    names = selftest.checks(res)
    if any(meta["qk"]):   # q/k in the page: the query/key view must have been checked
        expect += ["qk-softmax", "qk-view"]
    selftest.require(names, ["scripts", "no-injected-elements", "no-inline-handlers", "text-as-text", "first-render",
                             "layer-select", "head-toggle", "hide-special", "words", "head-hover", "model-click",
                             "no-errors"] + expect)
    ok(not res["errors"], "page errors: %s" % res["errors"])
    n_align = sum(1 for p in res["probes"] if p["view"] == "align")
    if kinds:
        selftest.require(names, ["kind-select", "kind-back"] + (["align-tab"] if "cross" in kinds["list"] else []))
        ok(res["T"] == meta["T"], "self-test T %d, the %s kind's keys %d" % (res["T"], kind, meta["T"]))
    if "rows" in meta:   # cross-attention: the alignment view was drawn and probed in both groupings
        selftest.require(names, ["align-view", "align-rows-sum"])
        modes = {p["mode"] for p in res["probes"] if p["view"] == "align"}
        ok(n_align >= 8 and modes == {"tokens", "words"}, "only %d alignment probes (%s)" % (n_align, sorted(modes)))
    else:
        ok(n_align == 0, "alignment probes on a kind without cross-attention")
    ro = meta.get("rollout") or {}
    if "fusions" in ro:
        selftest.require(names, ["rollout-panel", "rollout-select", "rollout-click", "rollout-flow-default"])
    else:
        ok("rollout-why" in names, "self-test check rollout-why did not run (the page has no rollout: %s)" % ro.get("why"))
    ok(len(res["probes"]) >= 4, "only %d hover probes" % len(res["probes"]))
    an = Analysis(gaze, run_path, ro.get("discard", 0), kind if kinds else None)
    n_ro = 0
    for p in res["probes"]:
        if p["view"] == "image":
            continue
        if p["view"] == "rollout":
            check_rollout_probe(p, an, meta)
            n_ro += 1
        else:
            check_probe(p, run, meta)
    if "fusions" in ro:
        ok(n_ro >= 3 * (1 + len(ro["fusions"])), "only %d rollout probes" % n_ro)
        if ro["flow"]["tokens"]:
            ok(n_flow_checked >= 2, "only %d flow values checked" % n_flow_checked)
    ok(("image" in run.header) == ("image" in meta), "the run %s an image but the page %s" %
       (("has", "has none") if "image" in run.header else ("has no", "has one")))
    if "image" in meta:
        check_image(page, run, meta, names, res["probes"])
    if not all(meta["exact"]):
        ok(any(p["mode"] == "summary" for p in res["probes"]), "no summary cell was probed")
    if max_tti is not None:
        ok(res["tti_ms"] <= max_tti, "time to interactive %d ms > %d ms" % (res["tti_ms"], max_tti))
    print("view_check: %s%s: T %d, %d maps (%d exact, %s), interactive after %d ms, model view %d ms, %d rollout probes "
          "(%d with flow), %d alignment probes" % (page_path.rsplit("/", 1)[-1], " [%s]" % kind if kind else "", res["T"], res["maps"], res["exact"], res["enc"], res["tti_ms"],
                             res["model_view_ms"], n_ro, n_flow_checked, n_align))

    # the rendered DOM: only the page's own elements, no handler attributes
    body = strip_bodies(dom)
    tags = re.findall(r"<([a-zA-Z][a-zA-Z0-9-]*)", body)
    allowed = {"html", "head", "meta", "title", "style", "body", "div", "noscript", "script", "header", "h1", "p", "b",
               "nav", "button", "span", "label", "select", "option", "input", "main", "canvas", "pre", "ul", "li"}
    ok(set(tags) <= allowed, "unexpected elements in the DOM: %s" % sorted(set(tags) - allowed))
    ok(tags.count("script") == 3, "%d script elements in the DOM, want 3" % tags.count("script"))
    ok(re.search(r"<[^>]*\son[a-z]+\s*=", body, re.I) is None, "an on* attribute in the DOM")
    if kinds and kinds.get("target_text") is not None:   # the target text is shown, as text
        ok(html.escape(kinds["target_text"], quote=False) in body, "the target text is not shown as text")
    if hostile:
        ok("<img" not in body.lower() and "<svg" not in body.lower(), "hostile markup became an element")
        ok("&lt;img src=x onerror=alert(2)&gt;" in body, "the hostile pair text is not shown as text")
        ok("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body, "the hostile text is not shown as text")
    return finish()


def finish():
    return selftest.finish("view_check")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
