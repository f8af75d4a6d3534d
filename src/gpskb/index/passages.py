"""Passages: each clause split into sentence passages (with label and metadata passages), and the character BM25
ranker over them. The index's FORMAT_VERSION (gpskb.index.manifest) changes when chunk() or lexical_tokens() do."""
from __future__ import annotations

import re
from dataclasses import dataclass

import bm25s
import numpy as np

from ..knowledge import KnowledgeBase
from ..text import normalise

#: a character the lexical ranker counts (CJK, Latin letters, digits)
TOKEN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffa-z0-9]")


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
    chars = [ch for ch in normalise(text) if TOKEN_CHAR.match(ch)]
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

