"""gaze.Run: one captured run, its tensors as zero-copy numpy views."""
from __future__ import annotations

import html as _html
import os
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _core

PathLike = Union[str, os.PathLike]


def _view(buf: Any) -> Optional[np.ndarray]:
    # numpy takes the buffer as it is: no copy; the array's base chain (memoryview -> Array ->
    # the owning _core.Run) keeps the run's memory alive while any view exists.
    return None if buf is None else np.asarray(buf)


class Run:
    """A captured run: tokens, metadata and per-layer tensors.

    Made by :meth:`gaze.Model.run` or :func:`gaze.load`. Tensors are read-only numpy views of the
    memory the C library filled (no copy is ever made; ``np.shares_memory`` holds between two views
    of one tensor); they keep the run alive, so they stay valid after the Run object is dropped.
    Layers are model layer numbers, negative ones counted from the model's last.
    """

    __slots__ = ("_c", "_tokens")

    def __init__(self, core: "_core.Run") -> None:
        self._c = core
        self._tokens: Optional[list[str]] = None

    # ---- metadata ---------------------------------------------------------------------------
    @property
    def model(self) -> Optional[str]:
        """Name or path of the model that made the run."""
        return self._c.model

    @property
    def arch(self) -> Optional[str]:
        return self._c.arch

    @property
    def causal(self) -> bool:
        return self._c.causal

    @property
    def text(self) -> Optional[str]:
        return self._c.text

    @property
    def pair(self) -> Optional[str]:
        return self._c.pair

    @property
    def sizes(self) -> dict[str, int]:
        """n_layers, n_heads, n_kv_heads, d_head, n_embd, T, Tq, n_heads_cap, n_generated."""
        return self._c.sizes

    @property
    def n_tokens(self) -> int:
        return self._c.sizes["T"]

    def __len__(self) -> int:
        return self._c.sizes["T"]

    @property
    def n_generated(self) -> int:
        """Trailing tokens produced by generation."""
        return self._c.sizes["n_generated"]

    @property
    def tokens(self) -> list[str]:
        """Token strings (valid UTF-8), as the tokenizer spells them."""
        if self._tokens is None:
            self._tokens = self._c.tokens
        return list(self._tokens)

    @property
    def token_ids(self) -> np.ndarray:
        """int32 [T]."""
        return _view(self._c.token_ids)

    @property
    def token_type_ids(self) -> Optional[np.ndarray]:
        """int32 [T] segment ids (encoders), or None."""
        return _view(self._c.token_type_ids)

    @property
    def sequence_ids(self) -> Optional[np.ndarray]:
        """int8 [T]: 0 text, 1 pair, -1 special token; or None."""
        return _view(self._c.sequence_ids)

    @property
    def offsets(self) -> Optional[np.ndarray]:
        """int64 [T, 2] byte range of each token in its input; or None."""
        return _view(self._c.offsets)

    @property
    def q_rows(self) -> np.ndarray:
        """int64 [Tq]: the token of each captured query row."""
        return _view(self._c.q_rows)

    @property
    def layers(self) -> tuple[int, ...]:
        """Captured model layers, increasing."""
        return self._c.layers

    @property
    def heads(self) -> tuple[int, ...]:
        """Captured query heads, increasing."""
        return self._c.heads

    @property
    def embedding(self) -> Optional[np.ndarray]:
        """float32 [n_embd] pooled sentence embedding (encoders), or None."""
        return _view(self._c.embedding)

    # ---- image runs (vision models; None for text runs) --------------------------------------
    @property
    def image(self) -> Optional[np.ndarray]:
        """uint8 [h, w, 3]: the RGB image the model saw (resized and cropped, before
        normalisation), or None for a text run."""
        return _view(self._c.image)

    @property
    def patch_grid(self) -> Optional[tuple[int, int, int]]:
        """(rows, cols, patch side in model-input pixels) of an image run, or None."""
        return self._c.patch_grid

    @property
    def patch_rc(self) -> Optional[np.ndarray]:
        """int32 [T, 2]: grid (row, col) of each token of an image run, (-1, -1) for [CLS],
        distillation and register tokens; or None."""
        return _view(self._c.patch_rc)

    @property
    def logits(self) -> Optional[np.ndarray]:
        """float32 [n]: classifier logits of an image classifier, or None."""
        return _view(self._c.logits)

    @property
    def extra(self) -> dict[str, str]:
        """Metadata entries outside the gaze.* set."""
        return self._c.extra

    @property
    def c_seconds(self) -> float:
        """Seconds spent inside the library's gaze_model_run for this run (0 for a loaded run)."""
        return self._c.c_seconds

    def parts(self, layer: int) -> tuple[str, ...]:
        """Parts captured for a model layer (empty when the layer was not captured)."""
        return self._c._parts(layer)

    # ---- tensors (zero-copy) ----------------------------------------------------------------
    def attention(self, layer: int) -> np.ndarray:
        """float32 [heads, Tq, T] softmax weights of a captured layer (rows sum to 1)."""
        return _view(self._c._array("attn", layer))

    def scores(self, layer: int) -> np.ndarray:
        """float32 [heads, Tq, T] scaled pre-softmax scores (-inf where masked)."""
        return _view(self._c._array("scores", layer))

    def q(self, layer: int) -> np.ndarray:
        """float32 [heads, Tq, d_head] queries (after RoPE)."""
        return _view(self._c._array("q", layer))

    def k(self, layer: int) -> np.ndarray:
        """float32 [heads, T, d_head] keys each captured query head reads."""
        return _view(self._c._array("k", layer))

    def hidden(self, layer: int) -> np.ndarray:
        """float32 [T, n_embd] residual stream after the layer."""
        return _view(self._c._array("hidden", layer))

    # ---- files and views --------------------------------------------------------------------
    def save(self, path: PathLike, *, f16: bool = False) -> None:
        """Writes the run file (docs/runfile.md) atomically, byte for byte what ``gaze run -o``
        writes for the same run; ``f16`` stores attention as IEEE half."""
        self._c.save(os.fspath(path), f16)

    def html(self, *, max_bytes: int = 0, precision: str = "auto", title: Optional[str] = None,
             view: Optional[str] = None, qk: bool = True, rollout: bool = True, threads: int = 0) -> str:
        """The offline viewer page (what ``gaze view`` writes) as a string: self-contained, no
        network, script and style pinned by hash in its Content-Security-Policy."""
        return self._c._html(max_bytes, precision, title, view, qk, rollout, threads)[0]

    def view(self, *, height: int = 720, **opts: Any) -> "Viewer":
        """The viewer for a notebook: displays inline as an ``<iframe srcdoc=...>`` (sandboxed,
        scripts only; the page keeps its own CSP). Options as :meth:`html`."""
        from .display import Viewer
        page, info = self._c._html(opts.pop("max_bytes", 0), opts.pop("precision", "auto"), opts.pop("title", None),
                                   opts.pop("view", None), opts.pop("qk", True), opts.pop("rollout", True),
                                   opts.pop("threads", 0))
        if opts:
            raise TypeError(f"view() got unexpected options {sorted(opts)}")
        return Viewer(page, info, height=height)

    def plot(self, kind: str = "heatmap", path: Optional[PathLike] = None, *, format: Optional[str] = None,
             layer: int = -1, head: Union[int, str, None] = None, heads: Optional[Sequence[int]] = None,
             query: int = -1, palette: str = "viridis", log_scale: bool = False, hide_special: bool = False,
             words: bool = False, vmax: float = 0.0, title: Optional[str] = None, max_px: int = 0,
             minus: Optional["Run"] = None, values: Optional[Sequence[float]] = None,
             values_name: Optional[str] = None) -> "Figure":
        """A figure of the run (what ``gaze plot`` draws): ``kind`` heatmap, model, head or bars;
        image runs also ``image`` ([CLS] attention of each head over the image), ``image-patch``
        (``query``'s attention over the image), ``image-rollout`` and ``distance``.

        Returns a :class:`gaze.Figure` that displays inline (SVG by default, or ``format="png"``);
        with ``path`` it is also written there (format from the extension: .png, .svg, .pdf).
        ``layer`` -1: the last captured; ``head`` an int, "mean", "max" or "each"; ``minus``: plot
        this run minus another; ``values``: bars of one value per token (e.g. a rollout row).
        """
        from .display import Figure
        vals = None if values is None else np.ascontiguousarray(values, dtype=np.float32)
        m = None if minus is None else minus._c
        p = None if path is None else os.fspath(path)
        data, info = self._c._plot(p, format, kind, layer, head, heads, query, palette, log_scale, hide_special,
                                   words, vmax, title, max_px, m, vals, values_name)
        if data is None:
            with open(p, "rb") as f:
                data = f.read()
        return Figure(data, info, path=p)

    # ---- analysis shortcuts -----------------------------------------------------------------
    def head_metrics(self, **opts: Any):
        """:func:`gaze.heads` of this run."""
        from .analysis import heads
        return heads(self, **opts)

    def rollout(self, **opts: Any) -> np.ndarray:
        """:func:`gaze.rollout` of this run."""
        from .analysis import rollout
        return rollout(self, **opts)

    def flow(self, token: Optional[int] = None, **opts: Any) -> np.ndarray:
        """:func:`gaze.flow` of this run."""
        from .analysis import flow
        return flow(self, token, **opts)

    # ---- display ----------------------------------------------------------------------------
    def __repr__(self) -> str:
        s = self._c.sizes
        return (f"<gaze.Run {self._c.model!r}: {s['T']} tokens, {len(self._c.layers)} layers x "
                f"{s['n_heads_cap']} heads captured>")

    def _repr_html_(self) -> str:
        s = self._c.sizes
        esc = _html.escape
        toks = self._c.tokens
        shown = toks[:64]
        chips = " ".join(f'<span style="border:1px solid #ccc;border-radius:3px;padding:0 2px">{esc(t)}</span>'
                         for t in shown)
        more = f" &hellip; (+{len(toks) - len(shown)})" if len(toks) > len(shown) else ""
        layers = self._c.layers
        parts = ", ".join(self._c._parts(layers[0])) if layers else "nothing"
        kind = "decoder" if self._c.causal else "encoder"
        gen = f", {s['n_generated']} generated" if s["n_generated"] else ""
        return (f'<div class="gaze-run"><b>gaze.Run</b> &middot; <code>{esc(str(self._c.model))}</code> '
                f'({esc(str(self._c.arch))}, {kind}) &middot; {s["T"]} tokens{gen} &middot; captured '
                f'{len(layers)} of {s["n_layers"]} layers &times; {s["n_heads_cap"]} of {s["n_heads"]} heads, '
                f'{s["Tq"]} query rows ({esc(parts)})<br><div style="font-family:monospace;line-height:1.8">'
                f'{chips}{more}</div></div>')


def load(path: PathLike) -> Run:
    """Reads and fully validates a run file (``gaze run -o``'s output or :meth:`Run.save`'s).

    Raises :class:`gaze.GazeIOError` or :class:`gaze.FormatError` naming the file and field.
    """
    return Run(_core.load(os.fspath(path)))
