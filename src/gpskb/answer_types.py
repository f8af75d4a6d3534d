"""What an answer is: the Answer — verdict, memo text, citations, rule trace, follow-up questions, what was read,
timings — with its parts, and its JSON contract (Answer.to_dict, the output of `gpskb ask --json` and the HTTP API)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TypedDict

from .jsontypes import JSON

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

