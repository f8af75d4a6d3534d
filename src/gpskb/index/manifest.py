"""The index manifest (index/manifest.json): what an index was built from — the policy texts' hash, the chunking, the
embedder, the readers' examples — written with every build and checked on every load."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from ..errors import IndexMissing, IndexStale
from ..jsontypes import JSON
from ..learn import READERS_FORMAT, SlotReaders, examples_hash
from ..knowledge import KnowledgeBase
from ..yamlfiles import display_path
from .embedders import Embedder

# Bump when chunk() or lexical_tokens() change: the manifest check then refuses indexes built the old way.
FORMAT_VERSION = 4


def new_manifest(kb: KnowledgeBase, embedder: Embedder, chunks: int, readers: SlotReaders | None,
                 started: float) -> JSON:
    """The manifest of an index built now for this knowledge base with this embedder: `chunks` passages, the readers
    trained (None: retrieval alone), the build having started at perf_counter() `started`."""
    return {
        "format_version": FORMAT_VERSION,
        "gpskb_version": __version__,
        "corpus_hash": kb.corpus_hash,
        "embedder": {"id": embedder.id, "version": embedder.version, "dim": embedder.dim},
        "chunking": kb.retrieval["chunking"],
        "chunks": chunks,
        "clauses": len(kb.clauses),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 3),
        "readers": {"format": READERS_FORMAT, "examples_hash": examples_hash(kb.examples),
                    **(readers.report if readers else {})},
    }


def read_manifest(directory: Path) -> JSON:
    """The manifest of the index in `directory`; IndexMissing when there is none, IndexStale when it is unreadable."""
    path = Path(directory) / "manifest.json"
    if not path.exists():
        raise IndexMissing(f"no index in {display_path(Path(directory))}/: run `gpskb index build`")
    try:
        manifest: JSON = json.loads(path.read_text(encoding="utf-8"))
        return manifest
    except (ValueError, OSError) as exc:
        raise IndexStale(f"{display_path(path)} is unreadable ({exc}): run `gpskb index build`") from None


def staleness(manifest: JSON, kb: KnowledgeBase, embedder_id: str, embedder_version: str) -> str | None:
    """Why an index with this manifest cannot serve this knowledge base and embedder, or None if it can."""
    if manifest.get("format_version") != FORMAT_VERSION:
        return f"index format {manifest.get('format_version')} (this gpskb reads {FORMAT_VERSION})"
    if manifest.get("corpus_hash") != kb.corpus_hash:
        return (f"built for different policy texts (hash {str(manifest.get('corpus_hash'))[:12]}…, "
                f"policy now {kb.corpus_hash[:12]}…)")
    emb = manifest.get("embedder") or {}
    if emb.get("id") != embedder_id or emb.get("version") != embedder_version:
        return f"built with embedder {emb.get('id')} {emb.get('version')}, configured {embedder_id} {embedder_version}"
    readers = manifest.get("readers") or {}
    if readers.get("format") != READERS_FORMAT or readers.get("examples_hash") != examples_hash(kb.examples):
        return "its readers were trained on other examples (policy/examples.yaml changed) or another format"
    return None
