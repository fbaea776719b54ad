"""Attention computed elsewhere, as gaze runs: from arrays (``from_attentions``) and from a
Hugging Face transformers model (``from_transformers``, the optional ``gaze[hf]`` extra).

The resulting :class:`gaze.Run` passes the same checks as a loaded run file (rows sum to 1,
causal zeros, sizes), so every analysis, figure and the viewer work on it.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from . import _core
from ._run import Run


def _to_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):   # a torch tensor, without importing torch
        a = a.detach().float().cpu().numpy()
    return np.ascontiguousarray(a, dtype=np.float32)


def from_attentions(attentions: Sequence[Any], tokens: Sequence[str], token_ids: Optional[Sequence[int]] = None, *,
                    layers: Optional[Sequence[int]] = None, n_layers: Optional[int] = None, model: str = "",
                    arch: str = "", causal: bool = False, n_kv_heads: Optional[int] = None,
                    text: Optional[str] = None, pair: Optional[str] = None) -> Run:
    """A run from attention weights of every head and query row: ``attentions[i]`` is
    [heads, T, T] (or [1, heads, T, T], numpy or torch) for model layer ``layers[i]`` (default
    0, 1, ...). The library checks it as it checks a run file (FormatError naming what is wrong:
    rows must sum to 1, a causal run must have no weight above the diagonal)."""
    arrs = [_to_numpy(a) for a in attentions]
    arrs = [a[0] if a.ndim == 4 and a.shape[0] == 1 else a for a in arrs]
    if not arrs:
        raise _core.InvalidArgumentError("from_attentions: no attention arrays")
    H = arrs[0].shape[0]
    T = len(tokens)
    layers = list(range(len(arrs))) if layers is None else list(layers)
    ids = np.ascontiguousarray(np.zeros(T) if token_ids is None else np.asarray(token_ids), dtype=np.int32)
    return Run(_core.run_from_arrays(list(tokens), ids, layers, arrs, model, arch, causal,
                                     n_layers if n_layers is not None else max(layers) + 1, H,
                                     n_kv_heads if n_kv_heads is not None else H, text, pair))


def from_transformers(model: Any, tokenizer: Any, text: str, pair: Optional[str] = None, *,
                      layers: Optional[Sequence[int]] = None) -> Run:
    """Runs a Hugging Face transformers model with ``output_attentions=True`` and returns its
    attention as a :class:`gaze.Run` (every head and row of every layer, or of ``layers``).

    Needs ``pip install 'gaze[hf]'`` (torch, transformers). Load the model with
    ``attn_implementation="eager"``: the fused attention kernels return no weights.
    """
    try:
        import torch
    except ImportError as e:   # the optional extra
        raise ImportError("gaze.from_transformers needs torch and transformers: pip install 'gaze[hf]'") from e
    enc = tokenizer(text, pair, return_tensors="pt") if pair is not None else tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        out = model(**enc, output_attentions=True)
    att = getattr(out, "attentions", None)
    if att is None or any(a is None for a in att):
        raise _core.InvalidArgumentError("from_transformers: the model returned no attention weights; load it with "
                                         "attn_implementation=\"eager\"")
    ids = enc["input_ids"][0].tolist()
    cfg = model.config
    sel = list(range(len(att))) if layers is None else [l % len(att) for l in layers]
    return from_attentions([att[l] for l in sel], tokenizer.convert_ids_to_tokens(ids), ids, layers=sel,
                           n_layers=len(att), model=getattr(cfg, "_name_or_path", "") or "",
                           arch=getattr(cfg, "model_type", "") or "",
                           causal=not getattr(cfg, "is_encoder_decoder", False) and bool(getattr(cfg, "is_decoder", False)
                                                                                       or "CausalLM" in type(model).__name__),
                           n_kv_heads=getattr(cfg, "num_key_value_heads", None), text=text, pair=pair)
