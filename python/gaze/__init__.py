"""gaze: an attention engine and attention microscope for transformer models, from Python.

A binding of the C library libgaze (one abi3 extension module, ``gaze._core``)::

    import gaze
    model = gaze.Model("minilm")                 # a fetched name, a BERT folder or a .gguf file
    run = model.run("The cat sat on the mat.", capture=("attn", "q", "k"))
    a = run.attention(2)                         # numpy [heads, Tq, T], a view of the run's memory
    run.save("run.safetensors")                  # the same file `gaze run ... -o` writes
    gaze.heads(run)                              # per-head metrics (a DataFrame with pandas)
    run.view()                                   # the offline viewer, inline in a notebook

Every failure raises a :class:`GazeError` subclass carrying the library's message.
"""
from ._core import (
    GazeError,
    InvalidArgumentError,
    GazeIOError,
    FormatError,
    UnsupportedError,
    OutOfMemoryError,
    LimitError,
    NetworkError,
    NumericError,
    default_threads,
    set_threads,
    isa,
    release_memory,
    registry,
    fetch,
    resolve,
)
from ._run import Run, load
from ._model import Model
from .analysis import (Corpus, CorpusStats, ablate, corpus, corpus_stats, diff, flow, heads, induction, metric_names,
                       rollout)
from .display import Figure, Viewer
from .hf import from_attentions, from_transformers

__all__ = [
    "Model", "Run", "load",
    "heads", "rollout", "flow", "ablate", "diff", "corpus", "corpus_stats", "Corpus", "CorpusStats", "induction",
    "metric_names",
    "Viewer", "Figure", "from_attentions", "from_transformers",
    "GazeError", "InvalidArgumentError", "GazeIOError", "FormatError", "UnsupportedError",
    "OutOfMemoryError", "LimitError", "NetworkError", "NumericError",
    "default_threads", "set_threads", "isa", "release_memory", "registry", "fetch", "resolve",
]
__version__ = "0.1.0"
