"""The knowledge base as loaded from a policy folder (gpskb.policy.load): its documents and clauses, rules and
follow-up questions, lexicon concepts, settings and training scenarios, and the reading configuration."""
from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import UnknownClause, UnknownRule
from .jsontypes import JSON
from .numerals import ARTICLE_RE, chinese_number
from .schema.exam import ExamConfig
from .schema.frame import ExampleTexts, FrameConfig
from .schema.parties import Parties
from .schema.wording import Wording


@dataclass(frozen=True)
class Document:
    id: str
    number: str
    title: str
    issuer: str
    excerpt: bool
    excerpt_note: str | None
    meta: JSON  # the document file's `document` mapping as read (its missing topics' patterns compiled)
    file: str

    def missing_topics(self, text: str) -> list[JSON]:
        """The topics an excerpt does not govern (document `missing_topics`) that a normalised question raises."""
        return [t for t in self.meta.get("missing_topics") or () if any(rx.search(text) for rx in t["compiled"])]

    def missing_article(self, n: int) -> str | None:
        """The `missing` entry (its articles text) that covers article n of an excerpt, if any."""
        for m in self.meta.get("missing") or ():
            parts = re.findall(ARTICLE_RE.pattern + r"|(末条)", m["articles"])
            nums = [chinese_number(a) if a else None for a, end in parts]
            articles: str = m["articles"]
            if "至" in articles and len(parts) == 2:
                lo, hi = nums[0], nums[1]
                if lo is not None and lo <= n and (hi is None or n <= hi):
                    return articles
            elif n in nums:
                return articles
        return None


@dataclass(frozen=True)
class Clause:
    id: str
    document: str
    kind: str
    text: str
    number: str | None = None
    title: str | None = None
    part: str | None = None
    sources: str | None = None
    aliases: tuple[str, ...] = ()  # names people use for the clause (负面清单 for 第十条): metadata, never part of the text

    @property
    def label(self) -> str:
        """How the clause is named in a citation: 「（十一）严禁变相用工」, 「一、深入推进…」, 「前言」, 「文尾」."""
        if self.kind == "preamble":
            return "正文开头（前言）"
        if self.kind == "closing":
            return "文尾（公开选项、抄送、印发）"
        if self.kind == "chapter" and self.title:
            return f"{self.number}　{self.title}"
        return f"{self.number or ''}{self.title or ''}"

    @property
    def ref(self) -> str:
        """How the clause is referred to in a sentence: 第（十一）项, 第一部分, 第十条, 第十条第（三）项, 前言, 文尾."""
        if self.kind == "item":
            return f"第{self.number}项"
        if self.kind == "part":
            return f"第{(self.number or '').rstrip('、')}部分"
        if self.kind in ("article", "article-item", "chapter"):
            return self.number or ""
        return {"preamble": "前言", "closing": "文尾"}.get(self.kind, self.label)


@dataclass(frozen=True)
class Condition:
    """any: at least one of these; any_groups: at least one of each group; all: every one; none: not one."""

    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    any_groups: tuple[tuple[str, ...], ...] = ()

    def holds(self, facts: set[str]) -> bool:
        """Whether a set of true concept ids satisfies the condition (the reference semantics the engine must match)."""
        return ((not self.any or any(c in facts for c in self.any))
                and all(any(c in facts for c in g) for g in self.any_groups)
                and all(c in facts for c in self.all)
                and not any(c in facts for c in self.none))

    @property
    def positive(self) -> tuple[str, ...]:
        """The concepts whose presence can make the condition hold."""
        return self.any + tuple(c for g in self.any_groups for c in g) + self.all

    @property
    def concepts(self) -> tuple[str, ...]:
        return self.positive + self.none


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    clauses: tuple[str, ...]
    quote: str
    when: Condition
    outcome: str
    priority: int
    overrides: tuple[str, ...]
    explanation: str
    override_note: str | None
    checks: tuple[str, ...]
    follow_ups: tuple[str, ...]
    file: str
    conclusion: str | None = None  # the 结论 when the outcome's default wording does not fit (e.g. a contract term)
    aspect: str = "can_buy"  # the aspect of a question this rule answers (policy/frame.yaml)
    fallback: bool = False  # a general test: any other rule that does not prohibit decides before it
    alone: bool = False  # decides only alone: it never turns another rule's `allowed` into `conditional`
    # a review of the service itself (第（八）项's 从严审核): it turns an `allowed` into `conditional` only when its own
    # aspect is the one asked (a one-year term asked about stays allowed; the review is listed with its checks)
    own_aspect_only: bool = False
    # conditional rules whose checks this allowed rule's facts answer (the auxiliary review when catalogue, budget and
    # pay by results are all stated): they support the answer, they do not make it conditional
    settles: tuple[str, ...] = ()


@dataclass(frozen=True)
class FollowUp:
    id: str
    ask_when: Condition
    question: str
    options: tuple[tuple[str, tuple[str, ...]], ...]  # (label, the concept ids it gives)


@dataclass(frozen=True)
class Concept:
    id: str
    label: str
    kind: str
    terms: tuple[str, ...]
    exceptions: tuple[str, ...]
    exception_patterns: tuple[re.Pattern[str], ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()  # regular expressions that mention the concept (派几个人到…上班)
    english: tuple[str, ...] = ()  # English words and phrases for the concept (lower case, matched on word boundaries)
    # groups of regexes: the concept is mentioned when every group matches, in any order
    together: tuple[tuple[re.Pattern[str], ...], ...] = ()


@dataclass
class KnowledgeBase:
    """Everything gpskb knows, loaded from one policy folder and checked for consistency."""

    policy_dir: Path
    documents: dict[str, Document]
    clauses: dict[str, Clause]
    rules: list[Rule]
    not_formalised: dict[str, str]
    follow_ups: dict[str, FollowUp]
    concepts: dict[str, Concept]
    language: JSON  # policy/language.yaml as read, its patterns compiled (`compiled_…` keys)
    retrieval: JSON  # policy/retrieval.yaml as read, its glossary compiled
    training: list[JSON]
    frame: FrameConfig
    examples: ExampleTexts  # slot → value → example questions (policy/examples.yaml)
    parties: Parties
    wording: Wording
    exam: ExamConfig  # how trainers' question banks are read (policy/exam.yaml, gpskb.bank)

    def clause(self, clause_id: str) -> Clause:
        """The clause with this id; UnknownClause (with near matches) otherwise."""
        try:
            return self.clauses[clause_id]
        except KeyError:
            raise UnknownClause(clause_id, difflib.get_close_matches(clause_id, list(self.clauses), n=3,
                                                                      cutoff=0.6)) from None

    def document_of(self, clause: Clause) -> Document:
        return self.documents[clause.document]

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; UnknownRule (with near matches) otherwise."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise UnknownRule(rule_id, difflib.get_close_matches(rule_id, [r.id for r in self.rules], n=3, cutoff=0.5))

    @functools.cached_property
    def corpus_hash(self) -> str:
        """Hash of what the index is built from (documents, clause ids and texts, chunking): not of comments or rules."""
        payload = {
            "clauses": [[c.id, c.label, c.text, list(c.aliases)] for c in self.clauses.values()],
            "documents": [[d.id, d.number, d.title] for d in self.documents.values()],
            "chunking": self.retrieval["chunking"],
        }
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
