"""Words a question talks about rather than says (policy/language.yaml `mentions`): the topic of a service (关于劳务派遣的
普法宣传), a term whose meaning is asked (什么叫「融资行为」?), the model to copy (照搬买养老服务那套做法), words asked
about or quoted (这算不算派遣用工？), told as background (办公楼也在装修) or that the provider's own management answers.
Such words assert nothing, or are only asked about."""
from __future__ import annotations

import dataclasses

from ..jsontypes import JSON
from ..knowledge import Concept
from ..text import find_all
from .facts import Mention


def mention_spans(cfg: JSON, text: str, key: str) -> list[tuple[int, int]]:
    """Where the patterns of `key` of language.yaml `mentions` (`cfg`) match the text."""
    return [(m.start(), m.end()) for rx in cfg.get("compiled_" + key) or () for m in rx.finditer(text)]


def talked_about(cfg: JSON | None, concepts: dict[str, Concept], breaks: list[str], text: str, mentions: list[Mention],
                 unsure: list[tuple[int, int]]) -> tuple[list[Mention], set[str], list[tuple[int, int]], set[str]]:
    """language.yaml `mentions`: words of the listed kinds that are the topic of something else (关于劳务派遣的
    普法宣传) or whose meaning is asked (什么叫「融资行为」?) are dropped — their concepts count as excepted — and
    words the question asks about or quotes (这算不算派遣用工？), background goods/works words and per-head words
    the provider's own management answers are marked `questioned`. Returns the mentions kept, the concepts dropped
    as topics, the topic spans and the concepts whose meaning is asked. `cfg`: language.yaml `mentions`; `unsure`:
    where its `uncertain_patterns` match (the reader finds them first)."""
    if not cfg:
        return mentions, set(), [], set()
    kinds, unsure_kinds = set(cfg["kinds"]), set(cfg.get("uncertain_kinds") or ())
    unsure_said = set(cfg.get("uncertain_said") or ())  # concepts that are the not-knowing itself (catalogue_unknown)
    background_kinds = set(cfg.get("background_kinds") or ())
    countered = cfg.get("countered") or {}
    countered_concepts = set(countered.get("concepts") or ())
    spans = {key: mention_spans(cfg, text, key)
             for key in ("topic_patterns", "concern_patterns", "step_patterns", "definition_patterns",
                         "analogy_patterns")}
    spans["uncertain_patterns"] = unsure
    step_concepts = set(cfg.get("step_concepts") or ())
    spans["background"] = _background_clauses(cfg, breaks, text)

    def inside(m: Mention, key: str) -> bool:
        return any(s <= m.start and m.end <= e for s, e in spans[key])

    counter = (any(not x.negated and x.concept in set(countered.get("by") or ()) for x in mentions)
               and not any(rx.search(text) for rx in countered.get("compiled_unless") or ()))
    analogy_kinds = set(cfg.get("analogy_kinds") or ())
    kept: list[Mention] = []
    topical: set[str] = set()
    defined: set[str] = set()
    for m in mentions:
        kind = concepts[m.concept].kind
        if kind in analogy_kinds and inside(m, "analogy_patterns"):
            topical.add(m.concept)  # the model to copy, not what is bought: asserts nothing
            continue
        if kind in kinds and inside(m, "definition_patterns"):
            defined.add(m.concept)  # its meaning is asked: asserts nothing
            continue
        if kind in kinds and inside(m, "topic_patterns"):
            topical.add(m.concept)  # the subject matter of what is bought: asserts nothing
            continue
        background = kind in background_kinds and inside(m, "background")
        asked = ((counter and m.concept in countered_concepts and not m.negated)
                 or background
                 or (kind in unsure_kinds and inside(m, "uncertain_patterns") and m.concept not in unsure_said)
                 or (kind in kinds and inside(m, "concern_patterns"))
                 or (m.concept in step_concepts and inside(m, "step_patterns")))
        kept.append(dataclasses.replace(m, questioned=True, background=background) if asked else m)
    return kept, topical, spans["topic_patterns"], defined


def _background_clauses(cfg: JSON, breaks: list[str], text: str) -> list[tuple[int, int]]:
    """Clauses that tell what happened or is going on and name no purchase (language.yaml mentions
    `background_clause`, `purchase_words`): their goods and works words are background."""
    rx, buy = cfg.get("compiled_background_clause"), cfg.get("compiled_purchase_words")
    if rx is None or buy is None:
        return []
    spans: list[tuple[int, int]] = []
    start = 0
    cuts = sorted({i + len(b) for b in breaks for i in find_all(text, b)} | {len(text)})
    for end in cuts:
        clause = text[start:end]
        if rx.search(clause) and not buy.search(clause):
            spans.append((start, end))
        start = end
    return spans
