"""The example notebook runs under a real Jupyter kernel (nbclient + ipykernel) and shows the run
summary, an inline SVG figure, the viewer as an iframe that keeps the page's CSP, and a table."""
import pathlib
import re

import nbformat
from nbclient import NotebookClient

NB = pathlib.Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def test_quickstart_notebook(tmp_path):
    nb = nbformat.read(NB, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outs = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for o in cell.outputs:
            assert o.output_type != "error", "".join(o.get("traceback", []))
            for mime, data in o.get("data", {}).items():
                outs.setdefault(mime, []).append(data if isinstance(data, str) else "".join(data))
    html = outs["text/html"]
    summary = next(h for h in html if "gaze.Run" in h)
    assert "&lt;" in summary and "<tired>" not in summary   # tokens escaped
    frame = next(h for h in html if h.startswith("<iframe"))
    assert 'srcdoc="&lt;!DOCTYPE html&gt;' in frame and 'sandbox="allow-scripts"' in frame
    assert "Content-Security-Policy" in frame and "default-src &#x27;none&#x27;" in frame
    assert any("<table" in h and "entropy" in h for h in html)          # the DataFrame
    svg = outs["image/svg+xml"][0]
    assert "<svg" in svg and "layer 2" in svg
    assert any(re.search(r"\(12, (\d+), \1\), dtype\('float32'\)", t) for t in outs["text/plain"])
