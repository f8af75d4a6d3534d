"""The one entry point: `answer(question) -> Answer`, used by the CLI, the Streamlit app and the HTTP API.

Normalise → extract facts → evaluate the rules → retrieve clauses → combine (gpskb.verdict; the Answer itself is
gpskb.answer_types', its text gpskb.memo's). A prohibition always wins (the rules'
priorities say so, see policy/rules); an allowed or conditional verdict cites its rule's clause first; relevant
clauses but no deciding rule → `no_rule`; nothing relevant → `out_of_scope`, with no citations.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable, Collection

from . import policy as policy_mod
from .answer_types import Answer
from .errors import GpskbError
from .frame.compose import compose
from .frame.model import Frame
from .index import Index, open_index
from .jsontypes import JSON
from .knowledge import KnowledgeBase
from .nlp.facts import Facts
from .nlp.reader import Reader
from .parties import Gazetteer
from .rules import RuleEngine
from .text import clean_question, has_chinese, normalise
from .verdict import Combiner


class Engine:
    """A loaded knowledge base with its readers, rule engine and index. Thread-safe; build one per process."""

    def __init__(self, kb: KnowledgeBase | None = None, index: Index | None = None,
                 log: Callable[[str], None] | None = None, index_dir: str | os.PathLike[str] | None = None) -> None:
        self.kb = kb or policy_mod.load()
        self.index = index or open_index(self.kb, index_dir, log=log)
        self.reader = Reader(self.kb, readings=self.index.readings)  # the pinyin stored with the index, when it has it
        mentions = self.kb.language.get("mentions") or {}
        self.gazetteer = Gazetteer(self.kb.parties, tuple(mentions.get("uncertain_patterns") or ()))
        self.rules = RuleEngine(self.kb)
        self.max_chars = self.kb.language["max_question_chars"]
        self.wording = self.kb.wording  # (the app reads the verdicts' wording from here)
        self._kinds = {c.id: c.kind for c in self.kb.concepts.values()}
        self.combiner = Combiner(self.kb)

    def read(self, text: str, given: Collection[str] = (), english: bool | None = None) -> Frame:
        """The frame of a checked question: lexicon facts, parties, and the slot classifiers' readings (over the
        query vector retrieval uses: the embedder caches it, so it is computed once per question). `english`: the
        question was asked in English (before its pinyin words were read as Chinese); by default, it has no Chinese."""
        if english is None:
            english = not has_chinese(text)
        return self._read(self._from_pinyin(text), given, english)

    def _read(self, text: str, given: Collection[str], english: bool) -> Frame:
        """`read` of a question whose pinyin words are already written in Chinese."""
        norm = normalise(text)
        predictions = {}
        if self.index.readers is not None:
            predictions = self.index.readers.predict(norm, self.index.embedder.query(norm))
        asked = predictions.get("aspect")
        aspect = asked.value if asked and asked.confidence >= self.kb.frame.slots["aspect"].decide_at else None
        parties = self.gazetteer.read(self.reader.party_text(norm))
        provider_speaks = self.gazetteer.roles.speaker_provides(norm, parties)
        # 我们 of an asker who speaks for the provider is the provider: 人员归我们管理 is the provider managing them
        facts = self.reader.read(self.gazetteer.roles.as_provider(text) if provider_speaks else text, given=given,
                                 aspect=aspect)
        if provider_speaks and len(norm) == len(facts.text):  # the words matched are shown as the asker wrote them
            facts.mentions = [dataclasses.replace(m, term=norm[m.start:m.end]) if m.canonical is None else m
                              for m in facts.mentions]
        return compose(self.kb.frame, facts, parties, predictions, self._kinds, english=english,
                       denied=lambda start, end: self.reader.denies(facts.text, start, end),
                       roles=self.kb.parties.roles)

    def query_text(self, question: str) -> str:
        """The text `answer` embeds for a question — cleaned, pinyin words read as Chinese, normalised — for a caller
        that keeps query vectors of its own (tests/query_vectors.py). Raises InputError as `answer` does."""
        return normalise(self._from_pinyin(clean_question(question, self.max_chars)))

    def _from_pinyin(self, text: str) -> str:
        """`text` with informal English spellings written out (language.yaml `english_shorthand`: thru, govt) and the
        Chinese words typed in pinyin written in Chinese (`pinyin`); idempotent."""
        text = self.reader.shorthand.convert(text)
        return self.reader.pinyin.convert(text) if self.reader.pinyin is not None else text

    def answer(self, question: object, facts: Collection[str] = ()) -> Answer:
        """Answer one question. `facts` adds concept ids the user gave directly (a form, a follow-up choice).
        Raises InputError for a question that cannot be answered as given."""
        t0 = time.perf_counter()
        original = question
        text = clean_question(question, self.max_chars)
        english = not has_chinese(text)
        text = self._from_pinyin(text)  # Chinese words typed in pinyin (a cunweihui as provider) read as Chinese
        self.index.embedder.query(normalise(text))  # once (query_text): the readers and retrieval reuse it from the cache
        te = time.perf_counter()
        frame = self._read(text, facts, english)
        t1 = time.perf_counter()
        outcome = self.rules.evaluate(frame)
        t2 = time.perf_counter()
        found = self.index.search(text, concepts=frame.concepts)
        t3 = time.perf_counter()
        ans = self.combiner.combine(original if isinstance(original, str) else text, text, frame, outcome, found)
        t4 = time.perf_counter()
        ans.timings_ms = {"embed": _ms(te - t0), "facts": _ms(t1 - te), "rules": _ms(t2 - t1),
                          "retrieval": _ms(t3 - t2), "combine": _ms(t4 - t3), "total": _ms(t4 - t0)}
        return ans

    def check(self, concepts: Collection[str], description: str = "") -> Answer:
        """The guided eligibility check: structured facts (concept ids) → the rules → the same kind of Answer.
        `description` (the service in words, optional) only feeds retrieval for further relevant clauses."""
        t0 = time.perf_counter()
        frame = Frame(Facts(description, [], self.reader.given(concepts)))
        outcome = self.rules.evaluate(frame)
        labels = "、".join(self.kb.concepts[c].label for c in sorted(concepts))
        query = description.strip() or labels or "政府购买服务"
        found = self.index.search(query, concepts=frame.concepts)
        ans = self.combiner.combine(description or labels, query, frame, outcome, found, structured=True)
        ans.timings_ms = {"total": _ms(time.perf_counter() - t0)}
        return ans


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


_default: Engine | None = None
_default_lock = threading.Lock()


def default_engine(log: Callable[[str], None] | None = None) -> Engine:
    """The process-wide engine on the default policy folder and index (built on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Engine(log=log or (lambda m: print(f"gpskb: {m}", file=sys.stderr)))
        return _default


def answer(question: str, facts: Collection[str] = ()) -> Answer:
    """Answer a question with the default engine (see Engine.answer)."""
    return default_engine().answer(question, facts)


def answer_dict(engine: Engine, question: object, facts: Collection[str] = ()) -> JSON:
    """The JSON contract for one question (with `facts` given, as a follow-up's answer), or {"question": ...,
    "error": ...}: a bad line never stops a batch."""
    try:
        return engine.answer(question, facts=facts).to_dict()
    except GpskbError as exc:
        return {"question": question if isinstance(question, str) else repr(question), "error": str(exc)}
