"""The shapes of the files that hold the texts and the rules: documents/*.yaml, rules/*.yaml, training.yaml, and the
evaluation question files (eval/*-questions.yaml)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import StrictBool, StrictInt

from .fields import Id, Outcome, Shape, Text, Texts

# --- documents/*.yaml ---------------------------------------------------------------------------------------------

class Provenance(Shape):
    tag: Text
    description: Text


class Missing(Shape):
    articles: Text
    note: Text


class MissingTopic(Shape):
    id: Text
    label: Text
    patterns: Texts


class DocumentMeta(Shape):
    id: Id
    number: Text
    title: Text
    short_title: Text | None = None
    issuer: Text
    addressees: Text | None = None
    disclosure: Text | None = None
    copied_to: Text | None = None
    printed_by: Text | None = None
    printed_on: Text | None = None
    published_on: Text | None = None
    effective_on: Text | None = None
    source: Text
    excerpt: StrictBool
    excerpt_note: Text | None = None
    provenance: list[Provenance] | None = None
    missing: list[Missing] | None = None
    missing_topics: list[MissingTopic] | None = None


class ClauseEntry(Shape):
    id: Id
    kind: Literal["preamble", "part", "item", "closing", "chapter", "article", "article-item", "note"]
    number: Text | None = None
    title: Text | None = None
    part: Text | None = None
    text: Text
    sources: Text | None = None
    aliases: Texts | None = None


class DocumentFile(Shape):
    document: DocumentMeta
    clauses: list[ClauseEntry]


# --- rules/*.yaml -------------------------------------------------------------------------------------------------

class Condition(Shape):
    any: Texts | None = None
    all: Texts | None = None
    none: Texts | None = None
    any_of_each: list[Texts] | None = None


class RuleEntry(Shape):
    id: Id
    title: Text
    clauses: Texts
    quote: Text
    when: Condition
    outcome: Outcome
    priority: StrictInt
    overrides: list[Outcome] | None = None
    explanation: Text
    conclusion: Text | None = None
    aspect: Text | None = None  # one of policy/frame.yaml's aspects (checked after it is loaded)
    fallback: StrictBool | None = None  # decides only when no other rule that does not prohibit fired
    alone: StrictBool | None = None  # a fallback that never makes another rule's allowed conditional
    own_aspect_only: StrictBool | None = None  # a review of what is bought: it qualifies an allowed only when its aspect is asked
    settles: Texts | None = None  # ids of conditional rules whose checks this allowed rule's facts answer
    override_note: Text | None = None
    checks: Texts | None = None
    follow_ups: Texts | None = None


class NotFormalised(Shape):
    clause: Text
    reason: Text


class FollowUpOption(Shape):
    label: Text
    facts: Texts


class FollowUpEntry(Shape):
    id: Id
    ask_when: Condition
    question: Text
    options: list[FollowUpOption]


class RulesFile(Shape):
    rules: list[RuleEntry]
    not_formalised: list[NotFormalised] | None = None
    follow_ups: list[FollowUpEntry] | None = None


# --- training.yaml --------------------------------------------------------------------------------------------

class Scenario(Shape):
    id: Text
    title: Text
    scenario: Text
    verdict: Outcome
    clauses: Texts
    explanation: Text


class TrainingFile(Shape):
    scenarios: list[Scenario]


# --- eval/*-questions.yaml ------------------------------------------------------------------------------------

class QuestionEntry(Shape):
    id: Text
    kind: Literal["eligibility", "info", "out_of_scope"]
    q: Text
    verdict: list[Literal["prohibited", "allowed", "conditional", "no_rule"]] | None = None
    cite: list[Any] | None = None  # numbers, 'meta', part ids or clause ids (gpskb.evaluation.expected_clause)
    aspect: Text | None = None  # an aspect of policy/frame.yaml (checked when scored)
    lang: Literal["zh", "en"] | None = None
