"""The model of wording.yaml: how each verdict and note is worded in an answer."""
from __future__ import annotations

from pydantic import field_validator

from .fields import Strict


class VerdictWording(Strict):
    conclusion: str
    badge: str
    english: str
    detail: str | None = None


class NoteWording(Strict):
    other_document: str  # {held}: the documents the knowledge base holds
    missing_topic: str  # {label}: the topic; {document}: the excerpted document; {gaps}: the articles it lacks
    figure_not_held: str  # a how-much question on a figure neither text sets
    other_law: str  # a question on what another law says, never naming the texts' subject
    ban_words_not_asked: str  # {words}: a ban's words in a question refused as not asking whether it may be bought


class Wording(Strict):
    verdicts: dict[str, VerdictWording]
    rule_conclusion_replaces: tuple[str, ...]
    understood: str
    english_line: str
    notes: NoteWording

    @field_validator("verdicts")
    @classmethod
    def _every_verdict(cls, verdicts: dict[str, VerdictWording]) -> dict[str, VerdictWording]:
        missing = {"prohibited", "conditional", "allowed", "no_rule", "out_of_scope"} - set(verdicts)
        if missing:
            raise ValueError(f"missing verdicts: {', '.join(sorted(missing))}")
        return verdicts

