"""Rich display in notebooks: the offline viewer inline, and figures as SVG/PNG."""
from __future__ import annotations

import html as _html
import os
from typing import Any, Optional, Union


class Viewer:
    """The offline viewer page of a run (:meth:`gaze.Run.view`).

    In a notebook it displays as an ``<iframe srcdoc=...>``: the page is pure ASCII, escaped into
    the attribute, and keeps its own Content-Security-Policy (``default-src 'none'``, script and
    style allowed by SHA-256 only). The frame is sandboxed with scripts allowed and no same-origin
    access, so the page can touch neither the notebook nor the network. ``.html`` is the page,
    ``.info`` what went into it, ``save(path)`` writes it.
    """

    def __init__(self, page: str, info: dict[str, Any], *, height: int = 720) -> None:
        self.html = page
        self.info = info
        self.height = int(height)

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{_html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
                f'title="gaze viewer" style="width:100%;height:{self.height}px;border:1px solid #ccc"></iframe>')

    def save(self, path: Union[str, os.PathLike]) -> None:
        with open(path, "w", encoding="ascii") as f:
            f.write(self.html)

    def __repr__(self) -> str:
        return f"<gaze.Viewer page of {self.info['bytes']} bytes, {self.info['n_maps']} attention maps>"


class Figure:
    """A figure drawn by the library (:meth:`gaze.Run.plot`): ``.data`` (bytes), ``.format``
    ("svg", "png" or "pdf"), ``.info`` (size, cells, blocks), ``.path`` when it was written.
    Displays inline in notebooks (SVG or PNG)."""

    def __init__(self, data: bytes, info: dict[str, Any], path: Optional[str] = None) -> None:
        self.data = data
        self.info = info
        self.format = info["format"]
        self.path = path

    def _repr_svg_(self) -> Optional[str]:
        return self.data.decode("utf-8") if self.format == "svg" else None

    def _repr_png_(self) -> Optional[bytes]:
        return self.data if self.format == "png" else None

    def save(self, path: Union[str, os.PathLike]) -> None:
        with open(path, "wb") as f:
            f.write(self.data)

    def __repr__(self) -> str:
        where = f" -> {self.path}" if self.path else ""
        return f"<gaze.Figure {self.format} {self.info['width']}x{self.info['height']}{where}>"
