"""What the checkers of a `gaze view` page's self-test share (view_check.py, view_attrib_check.py):
the pass / fail tally, the self-test's record read back from the DOM that headless Chromium
dumped, and the closing line the shell tests read (tests/lib/view.sh's view_selftest).
Standard library only; imported from the checker's own folder (python3 puts it on sys.path)."""
import html
import json
import sys

passed = 0
failed = 0


def ok(cond, what):
    """Counts one assertion; a failed one prints "FAIL: what" on stderr. Returns cond."""
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what, file=sys.stderr)
    return cond


def read(dom, missing):
    """The self-test's record, the JSON in the page's <pre id="gaze-selftest"> (the last one: the
    self-test appends it at the end of the body), or None after a failed check: `missing` when
    the DOM holds none (the page's script did not run), or the self-test crashed."""
    k = dom.rfind('<pre id="gaze-selftest">')
    if not ok(k >= 0, missing):
        return None
    res = json.loads(html.unescape(dom[k + len('<pre id="gaze-selftest">'):dom.find("</pre>", k)]))
    if not ok("crashed" not in res, "self-test crashed: %s" % res.get("crashed")):
        return None
    return res


def checks(res):
    """Every check the self-test ran must have passed; returns the set of their names."""
    for c in res["checks"]:
        ok(c["ok"], "self-test check %s: %s" % (c["name"], c["detail"]))
    return {c["name"] for c in res["checks"]}


def require(names, need):
    """Each check named in need must have run."""
    for e in need:
        ok(e in names, "self-test check %s did not run" % e)


def finish(name):
    """Prints "NAME: N passed, M failed"; the exit code: 1 when anything failed."""
    print("%s: %d passed, %d failed" % (name, passed, failed))
    return 1 if failed else 0
