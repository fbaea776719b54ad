"""Analysis over runs and models: per-head metrics, rollout, flow, ablation, divergence, corpus
statistics. Matrices come back as numpy arrays; tables as pandas DataFrames when pandas is
installed (``frame=None``, the default), else as numpy structured arrays (``frame=False``)."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np

from . import _core
from ._model import Model
from ._run import Run, _view

Table = Any   # pandas.DataFrame or numpy structured array


def metric_names() -> tuple[str, ...]:
    """Names of the per-head metrics, in the column order of :func:`heads`."""
    return _core.metric_names()


def _table(columns: dict[str, np.ndarray], frame: Optional[bool], attrs: Optional[dict] = None) -> Table:
    if frame is None or frame:
        try:
            import pandas as pd
        except ImportError:
            if frame:
                raise
        else:
            df = pd.DataFrame(columns)
            if attrs:
                df.attrs.update(attrs)
            return df
    n = len(next(iter(columns.values())))
    out = np.empty(n, dtype=[(k, v.dtype) for k, v in columns.items()])
    for k, v in columns.items():
        out[k] = v
    return out


def heads(run: Run, *, error: str = "mul", exclude_bos: bool = False, exclude_current: bool = False,
          broad: float = 0.78, positional: float = 0.5, special: float = 0.6, sink: float = 0.3,
          detector: float = 0.4, threads: int = 0, frame: Optional[bool] = None) -> Table:
    """Per-head metrics of every captured (layer, head), as ``gaze heads`` prints them.

    Columns: layer, head, kv_head, then :func:`metric_names` (entropy in nats, entropy_norm,
    max_weight, distance, self, prev, next, cls, sep, bos, punct, sink, det_prev, det_dup,
    det_ind; NaN where undefined), then labels ("previous-token,sink", ...). ``error``,
    ``exclude_bos``, ``exclude_current``: TransformerLens detector options; ``broad`` ...
    ``detector``: label thresholds.
    """
    ids, vals, labels = _core.heads(run._c, error, exclude_bos, exclude_current, broad, positional, special,
                                    sink, detector, threads)
    ids, vals = _view(ids), _view(vals)
    cols: dict[str, np.ndarray] = {"layer": ids[:, 0], "head": ids[:, 1], "kv_head": ids[:, 2]}
    for k, name in enumerate(_core.metric_names()):
        cols[name] = vals[:, k]
    cols["labels"] = np.array(labels, dtype=object)
    return _table(cols, frame)


def rollout(run: Run, *, fusion: str = "mean", discard: float = 0.0, layer: Optional[int] = None,
            threads: int = 0) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema): float64 [T, T], row i = attribution of output token i
    to every input token, over all captured layers (``layer``: that layer's residual-augmented,
    row-normalised matrix alone). ``fusion`` mean, max or min over heads; ``discard`` in [0, 1)."""
    return _view(_core.rollout(run._c, fusion, discard, layer, threads))


def flow(run: Run, token: Optional[int] = None, *, fusion: str = "mean", discard: float = 0.0,
         threads: int = 0) -> np.ndarray:
    """Attention flow (max-flow over the layers) to one output token: float64 [T], summing to 1.
    ``token`` None: token 0 for encoders ([CLS]), the last token for decoders."""
    if token is None:
        token = len(run) - 1 if run.causal else 0
    return _view(_core.flow(run._c, token, fusion, discard, threads))


def diff(a: Run, b: Run) -> np.ndarray:
    """Per-head Jensen-Shannon divergence between two runs of the same shape, in bits:
    float64 [captured layers, captured heads]."""
    return _view(_core.diff(a._c, b._c))


def ablate(model: Model, text: str, pair: Optional[str] = None, *, mean: bool = False,
           layers: Union[int, Sequence[int], None] = None, threads: int = 0,
           frame: Optional[bool] = None) -> Table:
    """Head importance by ablation through the real forward pass (``gaze ablate``): every head in
    turn zeroed (or set to its mean with ``mean=True``). Columns layer, head, effect, baseline:
    decoders' effect is the next-token loss change in nats (baseline: the unablated loss),
    encoders' 1 - cosine of the pooled embedding (baseline 1). Heads outside ``layers``: NaN."""
    base, eff = model._c.ablate(text, pair, mean, layers, threads)
    eff = _view(eff)
    L, H = eff.shape
    cols = {"layer": np.repeat(np.arange(L), H), "head": np.tile(np.arange(H), L), "effect": eff.reshape(-1),
            "baseline": np.full(L * H, base)}
    return _table(cols, frame, {"baseline": base})


def induction(model: Model, *, seq_len: int = 50, batch: int = 4, seed: int = 1, threads: int = 0) -> np.ndarray:
    """Induction scores by the TransformerLens protocol (BOS + S random tokens twice): float64
    [n_layers, n_heads]."""
    return _view(model._c.induction(seq_len, batch, seed, threads))


class _StatsView:
    """What corpus statistics show, for :class:`Corpus` and :class:`CorpusStats` (``_c._stats()``)."""

    __slots__ = ()

    @property
    def n_docs(self) -> int:
        return self._c._stats()[0]["n_docs"]

    @property
    def n_tokens(self) -> int:
        return self._c._stats()[0]["n_tokens"]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, std, count), each [n_layers, n_heads, n_metrics]."""
        _, mean, std, count = self._c._stats()
        return _view(mean), _view(std), _view(count)

    def frame(self, frame: Optional[bool] = None) -> Table:
        """One row per (layer, head): for each metric m, columns m (mean), m_std, m_n."""
        counts, mean, std, count = self._c._stats()
        mean, std, count = _view(mean), _view(std), _view(count)
        L, H, _ = mean.shape
        cols: dict[str, np.ndarray] = {"layer": np.repeat(np.arange(L), H), "head": np.tile(np.arange(H), L)}
        for k, name in enumerate(_core.metric_names()):
            cols[name] = mean[:, :, k].reshape(-1)
            cols[name + "_std"] = std[:, :, k].reshape(-1)
            cols[name + "_n"] = count[:, :, k].reshape(-1)
        return _table(cols, frame, counts)

    def save(self, path) -> None:
        """Writes the gaze.corpus JSON file (what ``gaze merge`` and ``gaze corpus --resume`` read)."""
        import os
        self._c.save(os.fspath(path))


class CorpusStats(_StatsView):
    """Corpus statistics without a model: what :meth:`Corpus.stats` copies out, what
    :meth:`load` reads (a ``gaze corpus -o`` / ``gaze merge -o`` file), what the Ray engine of
    :func:`corpus_stats` returns. :meth:`merge` is the library's exact merge (the one ``gaze
    merge`` uses); pickling goes through :meth:`state`, a dict of plain values.

    ``report``: how the statistics were made (engine, documents, skipped ones, batches, retries).
    """

    __slots__ = ("_c", "report")

    def __init__(self, core: "_core.Stats", report: Optional[dict] = None) -> None:
        self._c = core
        self.report = report or {}

    @classmethod
    def load(cls, path) -> "CorpusStats":
        import os
        return cls(_core.stats_load(os.fspath(path)))

    @classmethod
    def from_state(cls, state: dict, report: Optional[dict] = None) -> "CorpusStats":
        return cls(_core.Stats(state), report)

    def state(self) -> dict:
        return self._c.state()

    def __reduce__(self):
        return (CorpusStats.from_state, (self._c.state(), self.report))

    def merge(self, other: "CorpusStats") -> "CorpusStats":
        """Adds ``other`` (statistics of other documents of the same model and options) in place."""
        self._c.merge(other._c)
        return self

    def __repr__(self) -> str:
        st = self._c.state()
        return (f"<gaze.CorpusStats {st['model']!r}: {st['n_docs']} documents, {st['n_tokens']} tokens, "
                f"{st['n_layers']} x {st['n_heads']} heads>")


class Corpus(_StatsView):
    """Per-head statistics over many documents (``gaze corpus``), memory flat in the corpus size.

    ``add(text)`` runs the model on one document (the GIL released) and adds its per-head metrics;
    ``frame()`` gives mean, std and count per (layer, head) and metric; ``save(path)`` writes the
    gaze.corpus JSON that ``gaze merge`` reads. ``max_len``: tokens kept per document (0: the
    model's limit).
    """

    def __init__(self, model: Model, *, max_len: int = 0, error: str = "mul", exclude_bos: bool = False,
                 exclude_current: bool = False, threads: int = 0) -> None:
        self._c = _core.Corpus(model._c, max_len, error, exclude_bos, exclude_current, threads)

    def add(self, text: str) -> None:
        self._c.add(text)

    def extend(self, texts: Iterable[str]) -> "Corpus":
        for t in texts:
            self._c.add(t)
        return self

    def stats(self) -> CorpusStats:
        """A copy of the statistics so far, to merge with others or send to another process."""
        return CorpusStats(self._c.stats())


def corpus_stats(model: Union[Model, str], source: Any, *, engine: str = "local", max_len: int = 0,
                 text_field: str = "text", error: str = "mul", exclude_bos: bool = False,
                 exclude_current: bool = False, threads: int = 0, batch_size: int = 32,
                 workers: Optional[int] = None, address: Optional[str] = None,
                 on_batch: Optional[Callable[[dict], None]] = None, max_retries: int = 3) -> CorpusStats:
    """Per-head statistics of ``model`` over the documents of ``source`` (see :func:`corpus`),
    as a :class:`CorpusStats` whose ``report`` accounts for every document id.

    ``engine="local"``: this process, one document at a time. ``engine="ray"``: batches of
    ``batch_size`` documents run in Ray actors (``workers`` of them, default one per CPU of the
    cluster at ``address``, each loading the model once, ``threads`` kernel threads each, default
    1); each batch's statistics are merged exactly once by the library's exact merge, a batch
    whose worker died is run again (up to ``max_retries`` times), so the result equals the
    local engine's (and ``gaze corpus``'s) to rounding. ``on_batch(info)`` is called after each
    merged batch (batch, documents, worker pid and node, merged and retried counts).
    """
    from . import _docs
    opts = dict(max_len=max_len, error=error, exclude_bos=exclude_bos, exclude_current=exclude_current)
    if engine == "ray":
        from ._ray import ray_corpus_stats
        return ray_corpus_stats(model, source, text_field=text_field, threads=threads or 1, batch_size=batch_size,
                                workers=workers, address=address, on_batch=on_batch, max_retries=max_retries, **opts)
    if engine != "local":
        raise _core.InvalidArgumentError(f"corpus: engine {engine!r} (local, ray)")
    m = model if isinstance(model, Model) else Model(model)
    c = Corpus(m, threads=threads, **opts)
    report = _docs.new_report("local", batch_size=0, workers=1)
    for _, ids, texts, records in _docs.batches(source, 256, text_field=text_field):
        added, skipped = _docs.add_documents(c._c, ids, texts)
        _docs.account(report, ids, added, skipped, records)
    return _docs.finish(c.stats(), report, source)


def corpus(model: Union[Model, str], source: Any, *, engine: str = "local", frame: Optional[bool] = None,
           path=None, **opts: Any) -> Table:
    """Per-head statistics of ``model`` over the documents of ``source``: :meth:`Corpus.frame`.

    ``source``: an iterable of document strings, a path (str or os.PathLike: a text file, one
    document per non-blank line as in ``gaze corpus``; ``.jsonl``: the ``text_field`` of each
    record) or a list of os.PathLike paths, or a Hugging Face ``datasets.Dataset`` (its
    ``text_field`` column). Documents the library refuses are skipped with a warning, as ``gaze
    corpus`` skips them. ``engine``: "local" or "ray" (:func:`corpus_stats` has the options).
    ``path``: also write the gaze.corpus JSON there.
    """
    st = corpus_stats(model, source, engine=engine, **opts)
    if path is not None:
        st.save(path)
    return st.frame(frame)
