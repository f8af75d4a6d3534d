"""The one entry point: `answer(question) -> Answer`, used by the CLI, the Streamlit app and the HTTP API.

Normalise → extract facts → evaluate the rules → retrieve clauses → combine. A prohibition always wins (the rules'
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
from dataclasses import asdict, dataclass, field
from typing import TypedDict

from . import policy as policy_mod
from .errors import GpskbError
from .frame.compose import compose
from .frame.model import Frame
from .frame.scope import Scope, decide_scope
from .index import Hit, Index, SearchResult, open_index
from .jsontypes import JSON
from .knowledge import Clause, KnowledgeBase
from .nlp.facts import Facts
from .nlp.reader import Reader
from .numerals import ARTICLE_RE, chinese_number
from .parties import Gazetteer
from .rules import Outcome, RuleEngine
from .text import clean_question, has_chinese, matches_any, normalise

VERDICTS = ("prohibited", "conditional", "allowed", "no_rule", "out_of_scope")


@dataclass
class Citation:
    """A cited clause: who issued it, its label, its verbatim text, why it is cited, what matched in it."""

    clause_id: str
    document: str
    label: str
    text: str
    score: float
    ref: str
    sentence: str
    span: tuple[int, int]
    terms: list[str]
    reason: str  # "rule" (a fired rule implements it) or "retrieval"
    excerpt: bool = False
    excerpt_note: str | None = None


class FollowUpChoice(TypedDict):
    """One answer to a follow-up question: its label, and the concept ids it gives (sent back as `facts`)."""

    label: str
    facts: list[str]


@dataclass
class FollowUpQuestion:
    id: str
    question: str
    options: list[FollowUpChoice]


@dataclass
class Answer:
    """The verdict, the memo text, the citations (deciding clause first), the rule trace and per-stage timings."""

    question: str
    verdict: str
    answer: str
    citations: list[Citation]
    rules: list[JSON]
    follow_ups: list[FollowUpQuestion] = field(default_factory=list)
    facts: JSON = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    conclusion: str = ""  # the 结论 line's text, as the memo states it
    understood: dict[str, str] = field(default_factory=dict)  # the aspect asked, as read: {"aspect", "label", "shown"}
    english: str | None = None  # the one-line English verdict, for a question asked in English
    badge: str = ""  # the short verdict the app shows (policy/wording.yaml)

    def to_dict(self) -> JSON:
        """The JSON contract of `gpskb ask --json` and the HTTP API (fixed fields first, extras after)."""
        d: JSON = {"question": self.question, "verdict": self.verdict, "answer": self.answer,
             "citations": [asdict(c) for c in self.citations], "rules": self.rules}
        for c in d["citations"]:
            c["span"] = list(c["span"])
        d.update({"badge": self.badge, "follow_ups": [asdict(f) for f in self.follow_ups], "facts": self.facts,
                  "timings_ms": self.timings_ms, "notes": self.notes, "conclusion": self.conclusion,
                  "understood": self.understood, "english": self.english})
        return d


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
        self.wording = self.kb.wording
        self._kinds = {c.id: c.kind for c in self.kb.concepts.values()}
        self._aliases = [a for c in self.kb.clauses.values() for a in c.aliases]
        # the general checks: a general test (`fallback`), or a rule set off by the aspect read and nothing else (问目录
        # 和预算、两个条件都没说) — neither keeps a question the out-of-scope reader takes for another subject (Word文档的
        # 目录) in scope by itself
        read = ({v.concept for v in self.kb.frame.slots["aspect"].values.values() if v.concept}
                if self.kb.frame else set())
        self._general_rules = {r.id for r in self.kb.rules if r.fallback or set(r.when.positive) <= read}

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
        parties = self.gazetteer.read(norm)
        provider_speaks = self.gazetteer.speaker_provides(norm, parties)
        # 我们 of an asker who speaks for the provider is the provider: 人员归我们管理 is the provider managing them
        facts = self.reader.read(self.gazetteer.as_provider(text) if provider_speaks else text, given=given,
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
        """`text` with the Chinese words typed in pinyin written in Chinese (language.yaml `pinyin`); idempotent."""
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
        ans = self._combine(original if isinstance(original, str) else text, text, frame, outcome, found)
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
        ans = self._combine(description or labels, query, frame, outcome, found, structured=True)
        ans.timings_ms = {"total": _ms(time.perf_counter() - t0)}
        return ans

    # -- combining the frame, the rules and retrieval -----------------------------------------------------------

    def _scope(self, text: str, frame: Frame, outcome: Outcome, found: SearchResult, structured: bool,
               gaps: list[str]) -> Scope:
        """The scope stage (policy/frame.yaml), and the articles an excerpt lacks when the question names them."""
        if structured:
            return Scope(True, "form")
        banned = outcome.verdict == "prohibited"
        decisive = outcome.decisive
        ban_words = decisive.matched if banned and decisive else []
        missing = self._missing_articles(text)
        if missing and not banned:
            return Scope(False, "missing_article", "\n".join(missing))
        if not banned and matches_any(self.kb.frame.scope.other_documents, normalise(text)):
            held = "、".join(d.number + ("（节选）" if d.excerpt else "") for d in self.kb.documents.values())
            return Scope(False, "other_document", self.wording.notes.other_document.format(held=held))
        if gaps and not banned:
            return Scope(True, "missing_topic")  # the order governs it, the excerpt lacks it: said in the notes
        general_only = bool(outcome.firings) and all(f.rule.id in self._general_rules for f in outcome.firings)
        scope = decide_scope(self.kb.frame, frame, bool(outcome.firings), banned, found.in_scope,
                             names_clause=self._names_clause(text) or bool(frame.facts.defined),
                             general_only=general_only)
        if scope.answered:
            return scope
        notes = self.wording.notes
        # the steps whose reason the answer says, and the ban words a refused question used (never dropped silently)
        said = [{"figure_not_held": notes.figure_not_held, "other_law": notes.other_law}.get(scope.step),
                notes.ban_words_not_asked.format(words="、".join(ban_words)) if ban_words else None]
        return Scope(False, scope.step, "\n".join(filter(None, said)) or None)

    def _names_clause(self, text: str) -> bool:
        """Whether the question names a clause the knowledge base holds: an alias (负面清单) or 第N条 of a document
        that has that article."""
        norm = normalise(text)
        if any(normalise(a) in norm for a in self._aliases):
            return True
        numbers = {f"第{n}条" for n in ARTICLE_RE.findall(text)}
        return any(c.number in numbers for c in self.kb.clauses.values() if c.kind == "article")

    def _combine(self, question: str, text: str, frame: Frame, outcome: Outcome, found: SearchResult,
                 structured: bool = False) -> Answer:
        kb = self.kb
        notes = []
        hits = {h.clause_id: h for h in found.hits}
        gaps = [] if structured else self._missing_topics(text)
        scope = self._scope(text, frame, outcome, found, structured, gaps)
        if scope.note:
            notes += scope.note.split("\n")
        if not scope.answered:
            verdict = "out_of_scope"
        else:
            verdict = outcome.verdict if outcome.firings else "no_rule"
            if gaps and verdict != "prohibited":
                # the question turns on a topic the excerpt does not govern: say so, never a neighbouring clause's
                # verdict (a prohibition the question's own words set off still stands)
                verdict = "no_rule"
                notes += gaps

        citations: list[Citation] = []
        if verdict != "out_of_scope":
            deciding = [f for f in outcome.firings if f.status in ("decisive", "supporting", "overridden")]
            rule_clauses = list(dict.fromkeys(c for f in deciding for c in f.rule.clauses))
            for cid in rule_clauses:
                citations.append(self._citation(cid, hits[cid], "rule"))
            at = kb.retrieval.get("fallback_retrieval_at")
            decisive = [f for f in outcome.firings if f.status == "decisive"]
            if at is not None and decisive and all(f.rule.fallback for f in decisive):
                # a general check decided: the passage retrieval ranks first stays among the first citations
                best = next((h for h in found.hits if h.clause_id not in rule_clauses), None)
                if best is not None:
                    citations.insert(min(at, len(citations)), self._citation(best.clause_id, best, "retrieval"))
                    rule_clauses.append(best.clause_id)
            limit = max(kb.retrieval["max_citations"], len(citations))
            for h in found.hits:
                if len(citations) >= limit:
                    break
                if h.clause_id not in rule_clauses:
                    citations.append(self._citation(h.clause_id, h, "retrieval"))
        follow_ups = [FollowUpQuestion(f.id, f.question, [{"label": lbl, "facts": list(fs)} for lbl, fs in f.options])
                      for f in outcome.follow_ups] if verdict != "out_of_scope" else []
        fact_view = {
            "concepts": sorted(frame.concepts),
            "negated": sorted(frame.negated),
            "mentions": [{"concept": m.concept, "term": m.term, "start": m.start, "end": m.end,
                          "negated": m.negated, "cue": m.cue} for m in frame.mentions],
            "given": sorted(frame.given),
            "frame": frame.as_dict(),
            "scope": scope.step,
        }
        docs = {kb.clauses[f.rule.clauses[0]].document: f for f in outcome.firings
                if f.status in ("decisive", "supporting", "overridden")}
        if len(docs) > 1 and verdict != "out_of_scope":
            outcomes = {d: f.rule.outcome for d, f in docs.items()}
            if len(set(outcomes.values())) > 1:
                notes.append("注意：两份文件的规则结论不同（" + "；".join(
                    f"{kb.documents[d].number}：{self.wording.verdicts[o].badge}" for d, o in outcomes.items()) +
                    "），按优先级采用较严格的结论，详见规则轨迹。")
        aspect = frame.slots.get("aspect")
        understood = {"aspect": frame.aspect, "label": aspect.label if aspect else "",
                      "shown": aspect.describe() if aspect else ""}
        if frame.aspect == "out_of_scope" and verdict != "out_of_scope":
            understood["label"] = ""  # the scope stage answered it after all: do not say it was not understood
        conclusion = self._conclusion(verdict, outcome)
        text_out = self._memo(verdict, conclusion, outcome, citations, follow_ups, understood)
        if notes:
            text_out += "\n" + "\n".join(f"注：{n}" for n in notes)
        english = None
        if frame.english:
            english = self.wording.english_line.format(verdict=self.wording.verdicts[verdict].english)
            text_out = english + "\n" + text_out
        trace = outcome.trace() if verdict != "out_of_scope" else []  # a refused prohibition is named in the notes
        return Answer(question, verdict, text_out, citations, trace, follow_ups, fact_view, {}, notes, conclusion,
                      understood, english, self.wording.verdicts[verdict].badge)

    def _conclusion(self, verdict: str, outcome: Outcome) -> str:
        """The 结论: the verdict's wording, with the deciding rule's own words where they are more precise; a rule
        whose prohibition is a condition (a contract term, who may buy) states its conclusion alone."""
        w = self.wording.verdicts[verdict]
        decisive = outcome.decisive if verdict != "out_of_scope" else None
        rule = decisive.rule if decisive else None
        if rule and rule.conclusion and rule.outcome == verdict and rule.aspect in self.wording.rule_conclusion_replaces:
            return rule.conclusion
        detail = rule.conclusion if rule and rule.conclusion and rule.outcome == verdict else w.detail
        return w.conclusion + (f"（{detail}）" if detail else "")

    def _missing_topics(self, text: str) -> list[str]:
        """Notes for topics an excerpted document does not govern (document `missing_topics`: 转包, 法律责任 …):
        the knowledge base lacks the articles that would decide them."""
        norm = normalise(text)
        notes = []
        for doc in self.kb.documents.values():
            if not doc.excerpt:
                continue
            gaps = "；".join(m["articles"] for m in doc.meta.get("missing") or ())
            for t in doc.missing_topics(norm):
                notes.append(self.wording.notes.missing_topic.format(label=t["label"], document=doc.number, gaps=gaps))
        return notes

    def _missing_articles(self, text: str) -> list[str]:
        """Notes for articles the question names (第二十条) that an excerpted document does not hold: the honest
        answer is that the knowledge base lacks them, never a neighbouring article."""
        notes = []
        for num in ARTICLE_RE.findall(text):
            n = chinese_number(num)
            for doc in self.kb.documents.values():
                gap = doc.missing_article(n) if n is not None and doc.excerpt else None
                if gap:
                    notes.append(f"{doc.number}第{num}条不在本知识库收录的节选中（节选缺{gap}），请查阅官方文本。"
                                 f"/ Article {n} of {doc.number} is missing from the excerpt held here.")
        return notes

    def _citation(self, clause_id: str, hit: Hit, reason: str) -> Citation:
        clause = self.kb.clauses[clause_id]
        doc = self.kb.document_of(clause)
        return Citation(clause_id, doc.number, clause.label, clause.text, hit.score, clause.ref, hit.sentence,
                        hit.span, hit.terms, reason, doc.excerpt, doc.excerpt_note if doc.excerpt else None)

    def _memo(self, verdict: str, conclusion: str, outcome: Outcome, citations: list[Citation],
              follow_ups: list[FollowUpQuestion], understood: dict[str, str]) -> str:
        """The answer text: 您问的是, 结论, 依据 (文号, item, quoted sentence), 说明, 审核要点, and what the notice
        allows instead."""
        kb = self.kb
        lines = []
        if understood.get("label") and verdict != "out_of_scope":
            lines.append(self.wording.understood.format(aspect=understood["label"]) + "。")
        lines.append(f"结论：{conclusion}。")
        if verdict == "out_of_scope":
            docs = "、".join(f"{d.number}《{d.title}》" + ("（节选）" if d.excerpt else "") for d in kb.documents.values())
            lines.append(f"说明：本知识库收录{docs}，未找到与所问事项相关的规定。请改用具体的服务事项提问，"
                         "或咨询本级财政部门。")
            return "\n".join(lines)
        decisive = outcome.decisive if verdict != "no_rule" else None
        if decisive:
            rule = decisive.rule
            clause = kb.clauses[rule.clauses[0]]
            lines.append(f"依据：{self._cite_name(clause)}：“{rule.quote}”")
            also = [f for f in outcome.firings if f.status == "supporting"
                    and kb.clauses[f.rule.clauses[0]].document != clause.document and f.rule.outcome == rule.outcome]
            for f in also:  # the same conclusion in the other document: cite it too
                lines.append(f"另见：{self._cite_name(kb.clauses[f.rule.clauses[0]])}：“{f.rule.quote}”")
            lines.append(f"说明：{decisive.explanation}")
            stricter = [f for f in outcome.firings if f.status == "supporting" and f.rule.outcome != rule.outcome]
            for f in stricter:  # e.g. a one-year contract for a service that needs strict review
                lines.append(f"另须注意：{self._cite_name(kb.clauses[f.rule.clauses[0]])}：“{f.rule.quote}”"
                             f"{f.explanation}")
            checks = list(dict.fromkeys(list(rule.checks) + [c for f in stricter for c in f.rule.checks]))
            if checks:
                lines.append("审核要点：" + "；".join(f"（{i}）{c}" for i, c in enumerate(checks, 1)) + "。")
            alternatives = [f for f in outcome.firings if f.status == "overridden" and f.rule.outcome == "allowed"]
            if verdict == "prohibited" and alternatives and rule.aspect == "can_buy":
                alt = "；".join(f"{self._cite_name(kb.clauses[f.rule.clauses[0]])}：“{f.rule.quote}”"
                               for f in alternatives)
                lines.append(f"可以购买的做法：通知支持购买的是服务本身，由承接主体按合同提供服务并按服务数量和质量付费，"
                             f"而不是借购买服务用人。{alt}")
            for fu in follow_ups:
                lines.append(f"待确认：{fu.question}")
        else:
            top = citations[0] if citations else None
            if top:
                clause = kb.clauses[top.clause_id]
                lines.append(f"相关条款：{self._cite_name(clause)}：“{top.sentence}”")
            lines.append("说明：所问事项在知识库中有相关条款，但没有规则据以判断能否购买；请结合上述条款和本地指导性目录判断，"
                         "必要时咨询本级财政部门。")
        for doc in {kb.document_of(kb.clauses[c.clause_id]).id: None for c in citations}:
            d = kb.documents[doc]
            if d.excerpt:
                lines.append(f"注：{d.number}为节选：{d.excerpt_note}")
        return "\n".join(lines)

    def _cite_name(self, clause: Clause) -> str:
        doc = self.kb.document_of(clause)
        title = f"「{clause.title}」" if clause.title else ""
        excerpt = "（节选）" if doc.excerpt else ""
        return f"{doc.number}{excerpt} {clause.ref}{title}"


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
