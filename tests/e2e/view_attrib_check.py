#!/usr/bin/env python3
"""Checks the attribution tab of a `gaze view --attrib` page as headless Chromium rendered it
(tests/e2e_view_attrib.sh).

usage: view_attrib_check.py DOM --gaze BIN --model MODEL --text TEXT

DOM is `chromium --dump-dom PAGE#view=attrib&selftest`. The page's self-test picks every method,
two layers and two output tokens in the tab and records the numbers its bars showed; this script
  - requires every self-test check to pass (the tab's own: bars for every token, different bars
    and heatmaps for every method / layer / token, a heatmap click picks the row; and the page's:
    no injected element, no errors),
  - runs `gaze explain METHOD MODEL TEXT --json --threads 1 [--layer L] [--token I]` for every
    recorded view (ALTI and value zeroing rolled out: no --layer; per layer: --layer L) and
    compares each bar's number with explain's value (the page shows 6 significant digits of the
    f32 it stores: relative 1e-5, absolute 1e-9),
  - decoders: compares the logit lens table with `gaze explain logit-lens --json` (p of the
    final prediction per layer to 4 decimals, the top tokens' probabilities to 3).
Standard library only. Prints "view_attrib_check: N passed, M failed" and exits 1 on a failure.
"""
import json
import subprocess
import sys

import selftest
from selftest import ok


def main():
    args = sys.argv[1:]
    dom_path = args[0]
    opt = {}
    for i in range(1, len(args) - 1, 2):
        opt[args[i]] = args[i + 1]
    gaze, model, text = opt["--gaze"], opt["--model"], opt["--text"]
    dom = open(dom_path, encoding="utf-8").read()
    st = selftest.read(dom, "%s: no self-test output in the DOM (the script did not run: CSP hash, syntax error?)" % dom_path)
    if st is None:
        return
    names = selftest.checks(st)
    selftest.require(names, ["attrib-tab", "attrib-bars", "attrib-switch", "attrib-heatmaps", "attrib-click-row",
                             "no-injected-elements", "no-errors"])
    probes = [p for p in st["probes"] if "attrib" in p]
    methods = {p["attrib"] for p in probes}
    ok(len(probes) >= 8 and {"value-norm", "residual-norm", "alti", "alti-rollout"} <= methods,
       "too few attribution views recorded: %d (%s)" % (len(probes), sorted(methods)))
    explained = {}
    for p in probes:
        meth = p["attrib"].replace("-rollout", "")
        cmd = [gaze, "explain", meth, model, text, "--json", "--threads", "1"]
        if p["layer"] is not None:
            cmd += ["--layer", str(p["layer"])]
        if p["token"] >= 0:
            cmd += ["--token", str(p["token"])]
        key = " ".join(cmd[2:3] + cmd[5:])
        if key not in explained:
            r = subprocess.run(cmd, capture_output=True, text=True)
            if not ok(r.returncode == 0, "%s: exit %d: %s" % (key, r.returncode, r.stderr.strip()[-300:])):
                continue
            explained[key] = json.loads(r.stdout)
        ref = explained[key]["values"]
        shown = [float(v) for v in p["values"]]
        if not ok(len(shown) == len(ref), "%s: %d bars, explain has %d tokens" % (key, len(shown), len(ref))):
            continue
        worst = max(abs(a - b) / (1e-9 + 1e-5 * abs(b)) for a, b in zip(shown, ref))
        ok(worst <= 1.0, "%s: the bars differ from gaze explain (worst %.3g of the tolerance): %s vs %s"
           % (key, worst, shown[:6], ref[:6]))
        print("  %-48s %d bars match gaze explain (worst %.2f of the tolerance)" % (key, len(shown), worst))
    lens = [p["lens"] for p in st["probes"] if "lens" in p]
    if lens:
        r = subprocess.run([gaze, "explain", "logit-lens", model, text, "--json", "--threads", "1"], capture_output=True, text=True)
        if ok(r.returncode == 0, "logit-lens: exit %d: %s" % (r.returncode, r.stderr.strip()[-300:])):
            ref = json.loads(r.stdout)["layers"]
            rows = lens[0]
            ok(len(rows) == len(ref), "logit lens: %d rows, explain has %d layers" % (len(rows), len(ref)))
            bad = 0
            for row, e in zip(rows, ref):
                bad += abs(float(row[1]) - e["p_final"]) > 6e-5
                for cellv, t in zip(row[2:], e["top"]):
                    bad += abs(float(cellv.rsplit(" ", 1)[1]) - t["p"]) > 6e-4
            ok(bad == 0, "logit lens: %d numbers differ from gaze explain logit-lens" % bad)
            print("  logit lens: %d layers match gaze explain logit-lens" % len(rows))


main()
sys.exit(selftest.finish("view_attrib_check"))
