"""Training the frame's readers for an index build: on policy/examples.yaml with the embedder's query vectors, the
examples' vectors cached beside the index (reader-vectors.npz), the readers of a previous build reused when they were
trained on the same examples with the same embedder, and the readers trained or loaded in this process kept for a
rebuild."""
from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..errors import IndexMissing, IndexStale
from ..learn import READERS_FILE, READERS_FORMAT, SlotReaders, examples_hash
from ..knowledge import KnowledgeBase
from .embedders import Embedder, query_vectors
from .manifest import read_manifest

#: (embedder id, embedder version, examples hash)
ReadersKey = tuple[str, str, str]
#: readers trained or loaded in this process, by ReadersKey: a rebuild for changed texts reuses them
_trained: dict[ReadersKey, SlotReaders] = {}
_trained_lock = threading.Lock()
VECTOR_CACHE = "reader-vectors.npz"


def readers_key(kb: KnowledgeBase, embedder: Embedder) -> ReadersKey:
    """What readers are trained from: the embedder (id and version) and the examples (their hash)."""
    return (embedder.id, embedder.version, examples_hash(kb.examples))


def keep_trained(key: ReadersKey, readers: SlotReaders) -> None:
    """Keep readers loaded with an index for a rebuild in this process (readers already kept for the key stay)."""
    with _trained_lock:
        _trained.setdefault(key, readers)


def forget_trained() -> None:
    """Forget the readers of this process: the next build trains (or loads) its own (`gpskb bench` times that)."""
    with _trained_lock:
        _trained.clear()


def train_readers(kb: KnowledgeBase, embedder: Embedder, cache_dir: Path | None = None, reuse: bool = False) \
        -> SlotReaders | None:
    """The frame's slot classifiers trained on policy/examples.yaml with this embedder's query vectors.

    Embedding the examples is most of the cost (~25 ms each): it runs on every core (a build is a batch job, not a
    served answer), and the vectors are kept in `cache_dir`/reader-vectors.npz for the next build with the same
    embedder, so changing a few examples re-embeds only those."""
    if not kb.examples:
        return None
    key = readers_key(kb, embedder)
    with _trained_lock:
        if key in _trained:
            return _trained[key]
    stored = _stored_readers(cache_dir, key) if cache_dir and reuse else None
    if stored is not None:  # a change to the clauses alone: the readers of the previous build still hold
        with _trained_lock:
            _trained[key] = stored
        return stored
    texts = sorted({t for values in kb.examples.values() for ts in values.values() for t in ts})
    cached = _read_vector_cache(cache_dir, embedder) if cache_dir else {}
    todo = [t for t in texts if t not in cached]
    if todo:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=os.cpu_count() or 1, user_api="openmp"):
            cached.update(zip(todo, query_vectors(embedder, todo), strict=False))
    # float16 precision, as the vector cache keeps them: a build from the cache and a fresh one train identical readers
    vectors = {t: np.asarray(cached[t], dtype=np.float16).astype(np.float32) for t in texts}
    readers = SlotReaders.train(kb.examples, lambda ts: np.stack([vectors[t] for t in ts]))
    readers.vectors = vectors
    with _trained_lock:
        _trained[key] = readers
    return readers


def _stored_readers(directory: Path, key: ReadersKey) -> SlotReaders | None:
    """The readers saved in `directory` by a build from the same examples with the same embedder (their manifest
    says so), or None. Training is deterministic (fixed folds and seed), so these are the readers a new training
    would give; a rebuild after a clause edit then takes seconds, not the ~20 s of training."""
    try:
        manifest = read_manifest(directory)
        emb, readers = manifest.get("embedder") or {}, manifest.get("readers") or {}
        if (emb.get("id"), emb.get("version"), readers.get("examples_hash")) != key \
                or readers.get("format") != READERS_FORMAT:
            return None
        return SlotReaders.load(Path(directory) / READERS_FILE)
    except (IndexMissing, IndexStale, OSError, ValueError, KeyError, EOFError, AttributeError):
        return None


def save_readers(directory: Path, readers: SlotReaders, embedder: Embedder) -> None:
    """Write the readers into the index folder atomically (and the examples' vectors of a fresh training)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{READERS_FILE}.")
    os.close(fd)
    readers.save(Path(tmp))
    os.replace(tmp, directory / READERS_FILE)
    if readers.vectors:
        _write_vector_cache(directory, embedder, readers.vectors)


def _read_vector_cache(directory: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    try:
        with np.load(Path(directory) / VECTOR_CACHE, allow_pickle=False) as data:
            if str(data["embedder"]) != f"{embedder.id} {embedder.version}":
                return {}
            return dict(zip((str(t) for t in data["texts"]), data["vectors"].astype(np.float32), strict=False))
    except (OSError, KeyError, ValueError):
        return {}


def _write_vector_cache(directory: Path, embedder: Embedder, vectors: dict[str, np.ndarray]) -> None:
    texts = sorted(vectors)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{VECTOR_CACHE}.", suffix=".npz")
    with os.fdopen(fd, "wb") as fh:
        np.savez_compressed(fh, embedder=np.array(f"{embedder.id} {embedder.version}"), texts=np.array(texts),
                            vectors=np.stack([vectors[t] for t in texts]).astype(np.float16))
    os.replace(tmp, Path(directory) / VECTOR_CACHE)

