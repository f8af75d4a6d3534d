"""Composing the frame of a question from its readers' outputs (see gpskb.frame for who decides what): the facts of
the case, the aspect asked, what is bought (gpskb.frame.bought), the area, the parties' roles, and the general test
for a service no text names."""
from __future__ import annotations

import re

from ..learn import Prediction
from ..nlp.facts import Facts
from ..parties import Party
from ..schema.frame import FrameConfig
from ..schema.parties import Roles
from ..text import compile_pattern, matches_any
from .bought import ask_beside_area_guess, ban_words_as_topic, bought_by_named_area, read_bought
from .model import (
    Denied,
    Frame,
    SlotFill,
    Spans,
    banned_risk,
    denied_or_within,
    lexicon_value,
    make_fill,
    reads_out_of_scope,
    set_aside,
)
from .scope import ASKED, asks_definition, commissions, procedural


def compose(cfg: FrameConfig, facts: Facts, parties: list[Party], predictions: dict[str, Prediction],
            concept_kinds: dict[str, str], english: bool = False, denied: Denied = lambda start, end: False,
            roles: Roles | None = None) -> Frame:
    """The frame of one question from its readers' outputs (see gpskb.frame for who decides what).
    `denied(start, end)` says whether the lexicon reader's negation rules deny the words at that span (不是公益一类);
    `roles` (policy/parties.yaml `roles`) names the role concepts the parties assert."""
    parties = [p for p in parties if not denied(p.start, p.end)]
    background = [(m.start(), m.end()) for rx in cfg.background_forms for m in compile_pattern(rx).finditer(facts.text)]
    rebutted = [(m.start(), m.end()) for rx in cfg.rebutted_forms for m in compile_pattern(rx).finditer(facts.text)]
    if background or rebutted:  # a cue in the background set against the question, or in a claim rebutted, is no cue
        denied = denied_or_within(denied, background + rebutted)
    frame = Frame(facts, parties=parties, predictions=predictions, english=english,
                  procedural=procedural(cfg, facts.text), defines=asks_definition(cfg, facts.text),
                  asking=asking_span(facts.text))
    frame.commissioned = commissions(cfg, frame)
    present = _facts_of_the_case(cfg, frame, parties, background, denied)
    present = _rebutted_set_aside(cfg, frame, present, rebutted, concept_kinds)
    _aspect(cfg, frame, present, concept_kinds)
    read_bought(cfg, frame, present, facts.negated, concept_kinds, denied)
    _area(cfg, frame, present)
    bought_by_named_area(cfg, frame)
    ask_beside_area_guess(cfg, frame)
    if roles is not None:
        _parties(cfg, frame, parties, roles)
    _general_test(cfg, frame, concept_kinds, roles)
    return frame


def _facts_of_the_case(cfg: FrameConfig, frame: Frame, parties: list[Party], background: Spans,
                       denied: Denied) -> set[str]:
    """The lexicon's concepts that are facts of the case asked about. Set aside (shown in the trace): a ban's words as
    the subject of a service, a class said only of a body that describes another, words granted as background, and
    two concepts that contradict each other. A denied concept asserts the one its denial implies (frame.yaml
    `denials`)."""
    facts = frame.facts
    present = ban_words_as_topic(cfg, frame, facts.concepts, denied)
    # a class said only of a body that describes another (由公益一类事业单位出资设立的公司): it decides nothing
    describing = [p for p in parties if p.describes]
    for c in sorted(present & {p.concept for p in describing}):
        spans = [(m.start, m.end) for m in facts.mentions if m.concept == c]
        if spans and all(any(p.start <= a < p.end for p in describing) for a, _ in spans):
            set_aside(frame, c)
            present = present - {c}
    for c in sorted(present):
        # granted as background (X不能买，这我们知道。那…): the words are not the case asked about
        spans = [(m.start, m.end) for m in facts.mentions if m.concept == c]
        if spans and all(any(s <= a and b <= e for s, e in background) for a, b in spans):
            set_aside(frame, c)
            present = present - {c}
    negated = facts.negated
    for said_not, implied in cfg.denials.items():
        if said_not in negated and implied not in present:
            frame.asserted[implied] = SlotFill("facts", implied, implied, "lexicon", 1.0,
                                               tuple(m.term for m in facts.mentions if m.concept == said_not))
    for one, other in cfg.contradictions.items():
        if one in present and other in present and not {one, other} & facts.given:
            # 在省级目录里、本级目录没有: neither reading decides; the concepts are set aside and the rules ask
            for c in (one, other):
                set_aside(frame, c)
            present = present - {one, other}
    return present


def _rebutted_set_aside(cfg: FrameConfig, frame: Frame, present: set[str], rebutted: Spans,
                        concept_kinds: dict[str, str]) -> set[str]:
    """The words of `rebutted_kinds` said inside a claim the asker rebuts (有人说这等于变相用工，其实…) are neither said
    nor asked: their mentions are dropped, and a concept said only there is set aside (shown in the trace) — the asker
    disputes it; the service the claim is about stays the case asked."""
    if not rebutted:
        return present
    facts = frame.facts
    inside = [m for m in facts.mentions if concept_kinds.get(m.concept) in cfg.rebutted_kinds
              and any(s <= m.start and m.end <= e for s, e in rebutted)]
    if not inside:
        return present
    facts.mentions = [m for m in facts.mentions if m not in inside]
    left = {m.concept for m in facts.mentions}
    for c in sorted({m.concept for m in inside} - left):
        set_aside(frame, c)
        present = present - {c}
    return present


def _general_test(cfg: FrameConfig, frame: Frame, concept_kinds: dict[str, str], roles: Roles | None) -> None:
    """frame.yaml `general_test`: a question that asks whether a service no text names may be bought asserts the
    general test's concept (文件未点名的服务事项), so that its rule gives its checks."""
    general = cfg.general_test
    kinds = set(general.decided_by_kinds)
    bought = frame.slots.get("bought")
    # what is bought is a service, or no reader decided it is anything else (a guess at staff or works that only makes
    # the rules ask through its `possible` concept, or a sure one the question's words overrule, does not take the
    # general test away)
    spec = cfg.slots["bought"].values[bought.value] if bought is not None else None
    service_or_unsure = spec is not None and bought is not None and (
        spec.service or (bought.source == "classifier" and spec.concept not in frame.asserted))
    # a question read as "how" that asks whether it may get someone to do something, in so many words (Can the
    # bureau hire an evaluator to …?), asks whether
    # — or that asks may we at all while a prohibited reading of what is bought keeps real probability (then the
    # general test's checks, not no_rule, are the answer)
    # — or that the aspect reader takes for out of scope but names a party in a role (`out_of_scope_reads`): if a rule
    # on that party keeps it in scope, the rule alone does not answer whether the service may be bought (decide_scope:
    # the test keeps nothing in scope by itself)
    party_in_role = roles is not None and bool({roles.provider_concept, roles.purchaser_concept} & set(frame.asserted))
    asked = frame.aspect in general.aspects or (
        general.out_of_scope_reads and frame.aspect == "out_of_scope" and party_in_role) or (
        frame.aspect in general.asks_whether_with and frame.rule_aspect in general.aspects
        and (matches_any(general.asks_whether_forms, frame.text)
             or (general.asks_whether_risk_at is not None and banned_risk(cfg, frame) >= general.asks_whether_risk_at
                 and not any(concept_kinds.get(c) in general.manner_kinds for c in frame.concepts)
                 and matches_any(cfg.asks_permission, frame.text))))
    # (an aspect the reader could not tell counts only where a party rule would otherwise answer alone while a banned
    # reading of what is bought keeps real probability: 让国企先把路修好、分年付"服务费"，这算什么？)
    risky_default = party_in_role and banned_risk(cfg, frame) >= (general.asks_whether_risk_at or 1.0)
    if (asked and (frame.slots["aspect"].source != "default" or risky_default)
            and not any(concept_kinds.get(c) in kinds for c in frame.concepts) and service_or_unsure
            and not frame.procedural):
        frame.asserted[general.concept] = SlotFill("area", "unnamed", "文件未点名的服务事项", "default", 1.0)


def _aspect(cfg: FrameConfig, frame: Frame, present: set[str], concept_kinds: dict[str, str]) -> None:
    slot = cfg.slots["aspect"]
    given = [v for v, spec in slot.values.items() if spec.concept and spec.concept in frame.given]
    pred = frame.predictions.get("aspect")
    if given:
        fill = make_fill(cfg, "aspect", given[0], "given", 1.0)
    elif frame.defines and "text_info" in slot.values:
        fill = make_fill(cfg, "aspect", "text_info", "form", 1.0)  # 承接主体是指什么？ asks what the text means, not whether
    elif pred and pred.confidence >= slot.decide_at and _out_of_scope_yields(cfg, frame, pred):
        # (an office asking whether it may have a named provider do it asks whether: not how, not what the texts say)
        inside = [v for v in pred.probabilities if v != "out_of_scope"]
        if frame.commissioned:
            inside = [v for v in inside if v not in cfg.info_aspects] or inside
        best = max(inside, key=pred.p)
        fill = make_fill(cfg, "aspect", best, "classifier", pred.p(best))
    elif pred and pred.confidence >= slot.decide_at and (worded := _worded_aspect(cfg, frame, pred)):
        fill = make_fill(cfg, "aspect", worded, "form", pred.p(worded))  # 法院能作为购买主体吗？ asks who may buy
    elif pred and pred.confidence >= slot.decide_at:
        fill = make_fill(cfg, "aspect", pred.value, "classifier", pred.confidence)
    else:
        value, hit = lexicon_value(cfg, "aspect", present)
        if value:
            fill = make_fill(cfg, "aspect", value, "lexicon", 1.0, [w for c in hit for w in frame.facts.words(c)])
        else:  # nothing says otherwise: the product's question
            fill = make_fill(cfg, "aspect", "can_buy", "default", pred.p("can_buy") if pred else 0.0)
    frame.slots["aspect"] = fill
    frame.rule_aspect = fill.value
    if fill.value in cfg.info_aspects and fill.source == "classifier" and (
            fill.confidence < cfg.info_aspect_at
            or matches_any(cfg.asks_permission, frame.text)):
        frame.rule_aspect = "can_buy"  # not sure it only asks how, or it asks may we: a rule that decides gives its verdict
    if (fill.value in cfg.party_aspects and fill.source == "classifier" and not frame.parties
            and cfg.party_aspect_yields_at is not None and banned_risk(cfg, frame) >= cfg.party_aspect_yields_at
            and not any(concept_kinds.get(c) in cfg.party_kinds for c in present)):
        frame.rule_aspect = "can_buy"  # no party to decide about; what is bought is surely banned: may it be bought?
    concept = slot.values[fill.value].concept
    if concept:
        frame.asserted[concept] = fill


def _worded_aspect(cfg: FrameConfig, frame: Frame, pred: Prediction) -> str | None:
    """The aspect the question asks in so many words (frame.yaml `aspect_forms`) where the reader's first in-scope
    reading is another: said at the end of the sentence that asks (its last clause, of the last sentence ending in a
    question mark: …Can the court be the purchaser?), it is what is asked, however the reader weighs the background
    before it; said elsewhere (法院能否作为购买主体，把录音转写外包出去？ asks about the outsourcing), it is taken when its
    probability is within `aspect_forms_within` of the first. None otherwise, or when two worded aspects
    compete."""
    if pred.value == "out_of_scope" or frame.procedural:
        return None
    sentence = frame.text[slice(*frame.asking)]
    last_clause = _last_clause(cfg, sentence)
    asked = [a for a, forms in cfg.aspect_forms.items()
             if any(m.end() > last_clause for rx in forms for m in compile_pattern(rx).finditer(sentence))]
    if len(asked) == 1:
        return asked[0] if asked[0] != pred.value else None
    worded = [a for a, forms in cfg.aspect_forms.items() if matches_any(forms, frame.text)]
    if len(worded) != 1 or worded[0] == pred.value:
        return None
    return worded[0] if pred.p(worded[0]) >= pred.confidence - cfg.aspect_forms_within else None


def _last_clause(cfg: FrameConfig, sentence: str) -> int:
    """Where the last clause of a (normalised) sentence begins: after its last comma, not counting a clause that only
    gives an example (frame.yaml `example_clauses`)."""
    cut = len(sentence)
    while (i := max(sentence.rfind(",", 0, cut), sentence.rfind(";", 0, cut))) >= 0:
        if not any(compile_pattern(rx).match(sentence, i + 1) for rx in cfg.example_clauses):
            return i
        cut = i
    return -1


_FULL_STOP = re.compile(r"(?<=[a-z0-9)])\.\s+")


def asking_span(text: str) -> tuple[int, int]:
    """Where the sentence of a (normalised) question that asks begins and ends: the last one ending in a question mark,
    (0, 0) when none does. English sentences are also cut at a full stop followed by a space (We run X. Can the bureau
    buy it?)."""
    sentences = list(ASKED.finditer(text))
    if not sentences:
        return (0, 0)
    last = sentences[-1]
    start = last.start()
    for stop in _FULL_STOP.finditer(text, start, last.end()):
        start = stop.end()
    return (start, last.end())


def _out_of_scope_yields(cfg: FrameConfig, frame: Frame, pred: Prediction) -> bool:
    """Whether an out-of-scope reading (below `out_of_scope_yields_below`) gives way: the question asks whether, in so
    many words, and names the texts' subject (跟退休会计签了协议…这能算购买服务吗？ is a question on the texts)."""
    at, s = cfg.out_of_scope_yields_below, cfg.scope
    if pred.value != "out_of_scope" or frame.procedural:
        return False
    if pred.confidence < s.commission_refused_at and frame.commissioned:
        return True  # 能不能请咨询公司帮我们做个对比研究？ the office asks whether it may have a named provider do it
    return (at is not None and pred.confidence < at
            and matches_any(s.eligibility_forms, frame.text) and matches_any(s.subject_words, frame.text))


def _area(cfg: FrameConfig, frame: Frame, present: set[str]) -> None:
    slot = cfg.slots["area"]
    value, hit = lexicon_value(cfg, "area", present)
    pred = frame.predictions.get("area")
    if value:
        frame.slots["area"] = make_fill(cfg, "area", value, "lexicon", 1.0, [w for c in hit for w in frame.facts.words(c)])
        return
    if pred is None or reads_out_of_scope(frame) or frame.rule_aspect != "can_buy":
        return  # the area is guessed only for "can it be bought": it decides nothing about who or how
    bought = frame.slots.get("bought")
    if bought and not cfg.slots["bought"].values[bought.value].service:
        return  # what is bought is not a service: the area of a service does not apply
    spec = slot.values[pred.value]
    if any(c in frame.facts.excepted for c in spec.lexicon):
        return  # its words occur only as something else (the model copied: 照搬买养老服务那套做法): not what is bought
    if pred.confidence >= slot.decide_at and spec.concept:
        fill = make_fill(cfg, "area", pred.value, "classifier", pred.confidence)
        frame.slots["area"] = fill
        frame.asserted[spec.concept] = fill


def _parties(cfg: FrameConfig, frame: Frame, parties: list[Party], roles_cfg: Roles) -> None:
    """Category concepts for the parties whose role is known, bound to that role (policy/parties.yaml): the
    purchaser asserts its category's `as_purchaser` concept, a provider its category's concept with the provider
    role. Categories barred in both roles (公益一类) are asserted whatever the role. A party whose role the words do
    not give takes the role the question asks about (when the aspect reader is sure and no other party's words hold
    that role); a party that may buy, named
    before the provider, is the purchaser. Nothing else is guessed: a non-organ buyer is a ban, so it needs the words."""
    fill = frame.slots.get("aspect")
    sure = fill is not None and (fill.source != "classifier" or fill.confidence >= cfg.roles_from_aspect_at)
    aspect = frame.aspect if sure else None
    roles = [p.role for p in parties]
    # the parties named in the sentence that asks (…Is the township office a valid buyer?) are the ones asked about,
    # when it names any: the firm the background sentence mentions is not a second buyer
    start, end = frame.asking
    in_question = {id(p) for p in parties if p.role is None and not p.describes and start <= p.start < end}
    for i, party in enumerate(parties):
        role = party.role
        if role is None and not party.describes:  # a company owned by the city government: the city is no party to it
            # the role asked about goes to a party with no role words, unless another party's words already hold it
            # (a public hospital, the purchaser, hires a cleaning firm: the firm is not a second buyer)
            if aspect == "who_buys" and "purchaser" not in roles and (not in_question or id(party) in in_question):
                role = "purchaser"
            elif aspect == "who_provides" and not party.may_buy and "provider" not in roles:
                role = "provider"
            elif party.may_buy and "provider" in roles[i + 1:]:
                role = "purchaser"  # 民政局向某某购买: the state organ named before the provider buys
        fill = SlotFill(role or "party", party.category, party.category, "gazetteer", 1.0, (party.text,))
        # a body that only describes another or names a place (由公益一类事业单位出资设立的公司, 送病人到医院复诊) is no
        # party: its class decides nothing
        if party.either_role and not party.describes:
            frame.asserted[party.concept] = fill
        if role == "purchaser":
            frame.slots.setdefault("purchaser", fill)
            frame.asserted[party.as_purchaser] = fill
            frame.asserted.setdefault(roles_cfg.purchaser_concept, fill)
        elif role == "provider":
            frame.slots.setdefault("provider", fill)
            frame.asserted[party.concept] = fill
            frame.asserted.setdefault(roles_cfg.provider_concept, fill)

