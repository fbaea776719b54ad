"""Attention computed elsewhere, as gaze runs: from arrays (``from_attentions``) and from a
Hugging Face transformers model (``from_transformers``, the optional ``gaze[hf]`` extra).

The resulting :class:`gaze.Run` passes the same checks as a loaded run file (rows sum to 1,
causal zeros, sizes), so every analysis, figure and the viewer work on it.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

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
                    text: Optional[str] = None, pair: Optional[str] = None,
                    metadata: Optional[dict[str, str]] = None) -> Run:
    """A run from attention weights of every head and query row: ``attentions[i]`` is
    [heads, T, T] (or [1, heads, T, T], numpy or torch) for model layer ``layers[i]`` (default
    0, 1, ...). The library checks it as it checks a run file (FormatError naming what is wrong:
    rows must sum to 1, a causal run must have no weight above the diagonal).

    The run's metadata (``Run.extra``) records that the weights came from elsewhere
    (``attention.source``), so a saved run never passes for one gaze computed; ``metadata``
    adds or replaces entries (str to str)."""
    arrs = [_to_numpy(a) for a in attentions]
    arrs = [a[0] if a.ndim == 4 and a.shape[0] == 1 else a for a in arrs]
    if not arrs:
        raise _core.InvalidArgumentError("from_attentions: no attention arrays")
    H = arrs[0].shape[0]
    T = len(tokens)
    layers = list(range(len(arrs))) if layers is None else list(layers)
    ids = np.ascontiguousarray(np.zeros(T) if token_ids is None else np.asarray(token_ids), dtype=np.int32)
    extra = {"attention.source": "arrays given to gaze.from_attentions (not computed by gaze)", **(metadata or {})}
    return Run(_core.run_from_arrays(list(tokens), ids, layers, arrs, model, arch, causal,
                                     n_layers if n_layers is not None else max(layers) + 1, H,
                                     n_kv_heads if n_kv_heads is not None else H, text, pair, extra))


# Weight a padded batch may put on padding keys (masked with a large negative score, their
# softmax weight underflows to 0); above it the model ignored the attention mask.
PAD_WEIGHT_MAX = 1e-6


def runs_from_batch(attentions: Sequence[Any], lengths: Sequence[int], token_ids: Sequence[Sequence[int]],
                    tokens: Sequence[Sequence[str]], *, layers: Optional[Sequence[int]] = None,
                    texts: Optional[Sequence[Optional[str]]] = None, pairs: Optional[Sequence[Optional[str]]] = None,
                    causal: Optional[bool] = None, model: str = "", arch: str = "", n_kv_heads: Optional[int] = None,
                    metadata: Optional[dict[str, str]] = None) -> list[Run]:
    """One run per sequence of a right-padded batch: ``attentions[l]`` is [batch, heads, P, P]
    (numpy or torch) for every layer of the model, sequence b holds ``lengths[b]`` real tokens
    followed by padding. Each run keeps the rows and keys of its real tokens only; padding must
    carry no weight (else InvalidArgumentError: the model ignored the attention mask).
    ``causal`` None: a run is causal when no row puts weight on a later key (a one-token run:
    ``False``)."""
    att = [_to_numpy(a) for a in attentions]
    if not att or any(a.ndim != 4 for a in att):
        raise _core.InvalidArgumentError("runs_from_batch: expected [batch, heads, T, T] attention arrays")
    n_layers = len(att)
    sel = list(range(n_layers)) if layers is None else [l % n_layers for l in layers]
    runs = []
    for b, n in enumerate(lengths):
        per = [att[l][b, :, :n, :n] for l in sel]
        pad = max(float(att[l][b, :, :n, n:].max(initial=0.0)) for l in range(n_layers))
        if pad > PAD_WEIGHT_MAX:
            raise _core.InvalidArgumentError(f"sequence {b}: weight {pad:.3g} on padding keys: the model ignored the "
                                             "attention mask (run it with batch_size=1)")
        c = causal if causal is not None else bool(n > 1 and all(not np.triu(a, 1).any() for a in per))
        runs.append(from_attentions(per, list(tokens[b]), list(token_ids[b]), layers=sel, n_layers=n_layers,
                                    model=model, arch=arch, causal=c, n_kv_heads=n_kv_heads,
                                    text=texts[b] if texts else None, pair=pairs[b] if pairs else None,
                                    metadata=metadata))
    return runs


def from_transformers(model: Any, tokenizer: Any, inputs: Union[str, Sequence[Any]], pair: Any = None, *,
                      layers: Optional[Sequence[int]] = None, batch_size: int = 8) -> Union[Run, list[Run]]:
    """Runs a Hugging Face transformers model with ``output_attentions=True`` and returns its
    attention as gaze runs (every head and row of every layer, or of ``layers``).

    ``inputs``: one text (returns a :class:`gaze.Run`) or a list of texts or (text, pair) tuples
    (returns a list of runs, in order); ``pair``: the second sentence (a list for a list). Texts
    are tokenized one by one (no truncation, the tokenizer's special tokens) and run in batches
    of ``batch_size``, right-padded with an attention mask: real tokens keep positions 0..n-1,
    and each run holds its real tokens only. The weights are transformers': the runs' metadata
    says so (``attention.source``, library versions, model class), gaze computed none of them.

    Needs ``pip install 'gaze[hf]'`` (torch, transformers). Load the model with
    ``attn_implementation="eager"``: the fused attention kernels return no weights.
    """
    try:
        import torch
    except ImportError as e:   # the optional extra
        raise ImportError("gaze.from_transformers needs torch and transformers: pip install 'gaze[hf]'") from e
    single = isinstance(inputs, str)
    items = [inputs] if single else list(inputs)
    pairs = [pair] if single else (list(pair) if pair is not None else [None] * len(items))
    if len(pairs) != len(items):
        raise _core.InvalidArgumentError(f"from_transformers: {len(items)} inputs but {len(pairs)} pairs")
    for i, it in enumerate(items):
        if isinstance(it, tuple):
            items[i], pairs[i] = it
    if batch_size < 1:
        raise _core.InvalidArgumentError(f"from_transformers: batch_size {batch_size}, expected >= 1")
    encs = [dict(tokenizer(t, p) if p is not None else tokenizer(t)) for t, p in zip(items, pairs)]
    import inspect
    accepted = inspect.signature(model.forward).parameters   # e.g. Llama takes no token_type_ids
    keys = [k for k in ("input_ids", "token_type_ids") if k in encs[0] and k in accepted]
    cfg = model.config
    import transformers
    meta = {"attention.source": "transformers (output_attentions=True); not computed by gaze",
            "transformers.version": transformers.__version__, "torch.version": torch.__version__,
            "transformers.class": type(model).__name__,
            "transformers.attn_implementation": str(getattr(cfg, "_attn_implementation", "") or "")}
    name = getattr(cfg, "_name_or_path", "") or type(model).__name__
    device = next(model.parameters()).device
    runs: list[Run] = []
    for s in range(0, len(encs), batch_size):
        chunk = encs[s:s + batch_size]
        lengths = [len(e["input_ids"]) for e in chunk]
        P = max(lengths)
        batch = {k: torch.tensor([list(e[k]) + [0] * (P - len(e[k])) for e in chunk], device=device) for k in keys}
        batch["attention_mask"] = torch.tensor([[1] * n + [0] * (P - n) for n in lengths], device=device)
        with torch.inference_mode():
            out = model(**batch, output_attentions=True)
        att = getattr(out, "attentions", None)
        if att is None or any(a is None for a in att):
            raise _core.InvalidArgumentError("from_transformers: the model returned no attention weights; load it with "
                                             "attn_implementation=\"eager\"")
        ids = [list(e["input_ids"]) for e in chunk]
        runs += runs_from_batch(att, lengths, ids, [tokenizer.convert_ids_to_tokens(i) for i in ids], layers=layers,
                                texts=items[s:s + batch_size], pairs=pairs[s:s + batch_size], model=name,
                                arch=getattr(cfg, "model_type", "") or "",
                                n_kv_heads=getattr(cfg, "num_key_value_heads", None), metadata=meta)
    return runs[0] if single else runs
