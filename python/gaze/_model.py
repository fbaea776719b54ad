"""gaze.Model: a loaded model that runs text and captures attention."""
from __future__ import annotations

import os
from typing import Any, Iterable, Optional, Sequence, Union

from . import _core
from ._run import Run

Indices = Union[int, Sequence[int], None]


class Model:
    """A transformer model loaded by libgaze.

    ``name_or_path`` is a registered name fetched before (``"minilm"``, ``"smollm2"``; see
    :func:`gaze.fetch`), a Hugging Face BERT folder, or a Llama-family ``.gguf`` file, resolved
    exactly as the ``gaze`` command resolves its MODEL argument. ``exact=True`` runs quantized
    models on f32-dequantized weights (as transformers' GGUF loader).

    Raises :class:`gaze.GazeIOError` (missing file, name not fetched), :class:`gaze.FormatError`
    (malformed file) or :class:`gaze.UnsupportedError` with the library's message.
    """

    __slots__ = ("_c",)

    def __init__(self, name_or_path: Union[str, os.PathLike], *, exact: bool = False) -> None:
        self._c = _core.Model(os.fspath(name_or_path), exact)

    @property
    def info(self) -> dict[str, Any]:
        """Architecture and sizes: arch, path, n_layers, n_heads, n_kv_heads, head_dim, n_embd,
        n_ff, n_vocab, n_ctx, causal."""
        return self._c.info

    @property
    def n_layers(self) -> int:
        return self._c.info["n_layers"]

    @property
    def n_heads(self) -> int:
        return self._c.info["n_heads"]

    @property
    def causal(self) -> bool:
        return self._c.info["causal"]

    @property
    def exact(self) -> bool:
        """Whether quantized weights run f32-dequantized."""
        return self._c.exact

    def run(self, text: Optional[str] = None, pair: Optional[str] = None, generate: int = 0, layers: Indices = None,
            heads: Indices = None, capture: Union[str, Iterable[str], None] = ("attn",),
            exact: Optional[bool] = None, *, max_len: int = 0, truncate: bool = False,
            temperature: float = 0.0, top_p: float = 0.0, seed: int = 0, threads: int = 0,
            image: Any = None) -> Run:
        """Tokenizes ``text`` (and ``pair``, encoders only), runs the model and returns the run.

        - ``generate``: decoders generate this many tokens after the prompt (greedy unless
          ``temperature`` > 0; ``top_p``, ``seed``), each one's attention captured.
        - ``layers`` / ``heads``: model layers and query heads to capture, increasing (negative
          indices count from the end); None: all.
        - ``capture``: parts kept per layer, any of ``"attn"``, ``"scores"``, ``"q"``, ``"k"``,
          ``"hidden"``, or ``"all"``; None or ``()``: nothing (a timing or embedding run).
        - ``exact``: switch f32-dequantized weights on or off for this and later runs (None: as
          the model is). Switching re-lays out the weights and is refused while another thread
          runs the model.
        - ``max_len`` / ``truncate``: cut long inputs instead of failing with a LimitError.
        - ``threads``: kernel threads (0: :func:`gaze.default_threads`).

        - ``image``: vision models (ViT, DeiT, DINOv2, CLIP/SigLIP vision) take an image instead
          of text: a PNG/JPEG path, or a uint8 array [h, w, 3] of RGB (a PIL image is converted
          with ``convert("RGB")``); preprocessed by the model's Hugging Face image processor.
          ``layers``, ``heads``, ``capture`` and ``threads`` apply; the text options do not.

        The GIL is released while the model runs, so other Python threads go on.
        """
        if image is not None:
            if text is not None or pair is not None or generate:
                raise TypeError("run(): give either text or image=, not both (generate is for text)")
            if isinstance(image, (str, os.PathLike)):
                img = os.fspath(image)
            else:
                import numpy as np
                if hasattr(image, "convert") and not isinstance(image, np.ndarray):   # PIL
                    image = image.convert("RGB")
                img = np.asarray(image)
                if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                    raise TypeError(f"run(image=...): want a path or a uint8 array [h, w, 3], got {img.dtype} {img.shape}")
                img = np.ascontiguousarray(img)
            return Run(self._c.run_image(img, layers, heads, capture, threads))
        if text is None:
            raise TypeError("run(): text (or image=) is required")
        return Run(self._c.run(text, pair, generate, layers, heads, capture, exact, max_len, truncate,
                               temperature, top_p, seed, threads))

    def __repr__(self) -> str:
        i = self._c.info
        return (f"<gaze.Model {i['path']!r}: {i['arch']}, {i['n_layers']} layers x {i['n_heads']} heads"
                f"{' (exact)' if self._c.exact else ''}>")
