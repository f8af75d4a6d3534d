"""The text index: clause sentences embedded into FAISS, a character BM25 ranker, reciprocal-rank fusion, and the
out-of-scope decision. Built into index/ with a manifest that is checked on every load.

Why these choices (measured with `gpskb index eval`, numbers in the README):
- passages are sentences mapped back to their clause, so a long clause's key sentence is not diluted;
- the lexical ranker uses character unigrams + bigrams: no Chinese word segmenter is needed and it beat word-level
  BM25 on paraphrases (the measurements are in the README, "Measured figures");
- the fusion is reciprocal-rank fusion at clause level, weights and k in policy/retrieval.yaml.

The package is the Index (below); its parts: `embedders` (the vectors), `passages` (chunking and the lexical ranker),
`manifest` (what an index was built from, checked on load), `readers` (training the frame's readers for a build).
"""
from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from .. import config
from ..errors import IndexMissing, IndexStale
from ..jsontypes import JSON
from ..learn import READERS_FILE, SlotReaders
from ..nlp.pinyin import Readings, homophone_readings, reading_terms
from ..knowledge import KnowledgeBase
from ..text import normalise
from ..yamlfiles import display_path
from .embedders import Embedder, make_embedder
from .manifest import new_manifest, read_manifest, staleness
from .passages import TOKEN_CHAR, Chunk, LexicalRanker, chunk
from .readers import keep_trained, readers_key, save_readers, train_readers

#: the lexicon's pinyin for the homophone matcher (nlp.pinyin.homophone_readings), written with the index
READINGS_FILE = "readings.json"


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
        manifest = new_manifest(kb, embedder, len(chunks), readers, t0)
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
            save_readers(directory, self.readers, self.embedder)
        for name, data in files.items():  # manifest last: it is what declares the index complete
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, directory / name)

    @classmethod
    def load(cls, kb: KnowledgeBase, directory: Path, embedder: Embedder | None = None) -> Index:
        """Load index/ for this knowledge base; IndexMissing/IndexStale (saying how to rebuild) if it cannot serve."""
        embedder = embedder or make_embedder()
        directory = Path(directory)
        manifest = read_manifest(directory)
        why = staleness(manifest, kb, embedder.id, embedder.version)
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
            keep_trained(readers_key(kb, embedder), readers)  # a rebuild in this process after a clause edit keeps them
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
                if len([ch for ch in core if TOKEN_CHAR.match(ch)]) >= 2 and term not in terms:
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

