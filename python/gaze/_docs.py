"""Documents for corpus statistics, each with a stable id: the lines of text files (the rules of
``gaze corpus``: a line is a document, a trailing CR is dropped), the records of JSONL files, the
rows of a Hugging Face ``datasets.Dataset``, or any iterable of strings; a blank one (only spaces
and tabs) is no document, as ``gaze corpus`` skips blank lines. Ids count every record read,
blank ones included, across all files in order, so that a distributed run can account for each
document exactly once."""
from __future__ import annotations

import json
import os
import pathlib
from typing import Any, Iterable, Iterator, Optional, Union

MAX_LINE = 16 << 20   # gaze corpus skips longer lines: the same here

Source = Union[str, os.PathLike, Iterable[Any]]


def _is_dataset(source: Any) -> bool:
    # a datasets.Dataset (or IterableDataset) without importing datasets
    return hasattr(source, "column_names") and hasattr(source, "__iter__")


def _paths(source: Any) -> Optional[list[pathlib.Path]]:
    if isinstance(source, (str, os.PathLike)):   # one str alone is a path: a string of characters is no corpus
        return [pathlib.Path(source)]
    if isinstance(source, (list, tuple)) and source and all(isinstance(p, os.PathLike) for p in source):
        return [pathlib.Path(p) for p in source]
    return None


def describe(source: Any) -> str:
    """The ``source`` recorded in the statistics: the file path(s), or what kind of input."""
    paths = _paths(source)
    if paths is not None:
        return ",".join(str(p) for p in paths)
    if _is_dataset(source):
        return f"datasets.Dataset:{getattr(source, '_fingerprint', '') or type(source).__name__}"
    return "<python iterable>"


def _text_of(rec: Any, field: str, where: str) -> str:
    if isinstance(rec, str):
        return rec
    if isinstance(rec, dict) and isinstance(rec.get(field), str):
        return rec[field]
    raise ValueError(f"{where}: expected a string or an object with a string field {field!r}")


def _blank(text: str) -> bool:
    return text.strip(" \t") == ""


def documents(source: Source, *, text_field: str = "text") -> Iterator[tuple[int, Optional[str]]]:
    """(id, text) for every record of ``source``; text None for a record that is no document
    (blank: only spaces and tabs; or a line longer than 16 MiB), which ``gaze corpus`` skips too.

    ``source``: a path (str or os.PathLike) or a list of os.PathLike paths (``.jsonl`` /
    ``.ndjson``: one JSON object per line, its ``text_field`` is the document; other files: one
    document per line), a ``datasets.Dataset`` (its ``text_field`` column), or an iterable of
    document strings (each one a document, as :meth:`gaze.Corpus.add` takes it).
    """
    paths = _paths(source)
    if paths is None:
        if _is_dataset(source):
            for i, row in enumerate(source):
                text = _text_of(row, text_field, f"dataset row {i}")
                yield i, None if _blank(text) else text
        else:
            for i, text in enumerate(source):
                if not isinstance(text, str):
                    raise TypeError(f"document {i}: expected a str, got {type(text).__name__}")
                yield i, None if _blank(text) else text
        return
    i = 0
    for p in paths:
        jsonl = p.suffix.lower() in (".jsonl", ".ndjson")
        with open(p, "rb") as f:
            for n, raw in enumerate(f, 1):
                if len(raw) > MAX_LINE:
                    import warnings
                    warnings.warn(f"gaze corpus: {p}:{n} skipped: longer than 16 MiB", stacklevel=2)
                    yield i, None
                    i += 1
                    continue
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                text: Optional[str] = None
                if not _blank(line):
                    text = _text_of(json.loads(line), text_field, f"{p}:{n}") if jsonl else line
                yield i, text
                i += 1


def batches(source: Source, size: int, *, text_field: str = "text") -> Iterator[tuple[int, list[int], list[str], int]]:
    """Batches of up to ``size`` documents: (batch id, document ids, texts, records read for the
    batch, blank ones included); the last batch may hold only blank records."""
    ids: list[int] = []
    texts: list[str] = []
    records = 0
    b = 0
    for i, text in documents(source, text_field=text_field):
        records += 1
        if text is None:
            continue
        ids.append(i)
        texts.append(text)
        if len(ids) == size:
            yield b, ids, texts, records
            b += 1
            ids, texts, records = [], [], 0
    if ids or records:
        yield b, ids, texts, records


# ---- accounting: every document id is added, skipped (refused by the library) or blank, once ----

def add_documents(core_corpus: Any, ids: list[int], texts: list[str]) -> tuple[list[int], list[tuple[int, str]]]:
    """Adds each text to a ``_core.Corpus``; a document the library refuses is skipped with its
    message, as ``gaze corpus`` skips it. Returns (added ids, [(skipped id, message)])."""
    from . import _core
    added: list[int] = []
    skipped: list[tuple[int, str]] = []
    for i, t in zip(ids, texts):
        try:
            core_corpus.add(t)
        except _core.GazeError as e:
            skipped.append((i, str(e)))
        else:
            added.append(i)
    return added, skipped


def new_report(engine: str, **kw: Any) -> dict:
    # id_sum: the sum of the ids of the documents merged, a cheap witness of exactly-once
    return {"engine": engine, "records": 0, "documents": 0, "added": 0, "skipped": [], "batches": 0,
            "retried_batches": 0, "id_sum": 0, **kw}


def account(report: dict, ids: list[int], added: list[int], skipped: list[tuple[int, str]], records: int) -> None:
    """Checks that a batch's result names exactly the documents sent (each once), then counts it."""
    got = sorted(added + [i for i, _ in skipped])
    if got != sorted(ids) or len(set(got)) != len(got):
        raise RuntimeError(f"corpus: a batch returned documents {got[:8]}... for {sorted(ids)[:8]}...: "
                           "refusing to merge it (a document would be lost or counted twice)")
    import warnings
    for i, msg in skipped:
        if len(report["skipped"]) < 10:
            warnings.warn(f"gaze corpus: document {i} skipped: {msg}", stacklevel=3)
        report["skipped"].append((i, msg))
    report["records"] += records
    report["documents"] += len(ids)
    report["added"] += len(added)
    report["id_sum"] += sum(ids)
    report["batches"] += 1


def finish(stats: Any, report: dict, source: Any) -> Any:
    """The statistics of a whole pass: source and line count recorded, complete, one shard."""
    from .analysis import CorpusStats
    st = stats.state()
    if st["n_docs"] != report["added"]:
        raise RuntimeError(f"corpus: {st['n_docs']} documents in the statistics, {report['added']} added")
    st.update(source=describe(source), n_lines=report["records"], complete=True, n_shards=1, shards=b"\x01")
    return CorpusStats.from_state(st, report)
