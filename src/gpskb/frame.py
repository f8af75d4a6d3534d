"""The question frame: what a question asks, what is bought, in which area, who buys and who provides — each with
the reader it came from and how sure that reader is — and the one stage that decides whether the knowledge base
answers it at all.

Readers, most certain first (policy/frame.yaml says which values each may set, and from which probability):
- lexicon: a term or pattern of policy/lexicon.yaml (exact words, kept for precision; negation-aware);
- gazetteer: policy/parties.yaml's organisation types, with the role the words around them give;
- classifier: gpskb.learn's calibrated classifiers over character n-grams and the e5 vector.
The frame asserts concepts for the rules: a lexicon concept as it is; a classifier value's concept from `decide_at`;
its `possible` concept (which makes the rules ask instead of guessing) from `ask_at`.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .jsontypes import JSON
from .learn import Prediction
from .nlp.facts import Facts, Mention
from .parties import Party
from .schema import FrameConfig, Roles, SlotValue
from .text import compile_pattern, matches_any

#: reader names as the trace shows them to a person
SOURCE_LABEL = {"lexicon": "词语", "gazetteer": "机构名称", "classifier": "语义判断", "corroborated": "语义判断＋句式",
                "given": "用户确认", "default": "默认", "form": "句式"}


#: whether the lexicon reader's negation rules deny the words at [start, end) of the question
Denied = Callable[[int, int], bool]
#: character spans [start, end) of the question
Spans = Sequence[tuple[int, int]]


@dataclass(frozen=True)
class SlotFill:
    """One slot's value, the reader that set it and how sure it is (1.0 for the lexicon, the gazetteer, a user)."""

    slot: str
    value: str
    label: str
    source: str  # lexicon | gazetteer | classifier | given | default | form
    confidence: float
    words: tuple[str, ...] = ()

    def describe(self) -> str:
        """「语义判断 0.91：人员（用工）」 — how the trace shows a fact."""
        how = SOURCE_LABEL.get(self.source, self.source)
        conf = f" {self.confidence:.2f}" if self.source in ("classifier", "corroborated") else ""
        said = f"（{'、'.join(self.words)}）" if self.words else ""
        return f"{how}{conf}：{self.label}{said}"

    def as_dict(self) -> JSON:
        return {"slot": self.slot, "value": self.value, "label": self.label, "source": self.source,
                "confidence": self.confidence, "words": list(self.words), "shown": self.describe()}


@dataclass
class Frame:
    """A question as read: the lexicon facts plus the slots, and the concepts the slots assert for the rules."""

    facts: Facts
    slots: dict[str, SlotFill] = field(default_factory=dict)
    asserted: dict[str, SlotFill] = field(default_factory=dict)  # concept → the fill that asserted it
    parties: list[Party] = field(default_factory=list)
    predictions: dict[str, Prediction] = field(default_factory=dict)
    english: bool = False
    procedural: bool = False  # the question only asks how, what or how much, never whether (read once: procedural())
    defines: bool = False  # the question asks what a term of the texts means (read once: asks_definition())
    # bought values a reading kept below asking (value → probability)
    open_guesses: dict[str, float] = field(default_factory=dict)
    set_aside: dict[str, SlotFill] = field(default_factory=dict)  # lexicon concepts read as a service's subject

    @property
    def text(self) -> str:
        return self.facts.text

    @property
    def concepts(self) -> set[str]:
        return (self.facts.concepts - set(self.set_aside)) | set(self.asserted)

    @property
    def negated(self) -> set[str]:
        return self.facts.negated - set(self.asserted)

    @property
    def given(self) -> set[str]:
        return self.facts.given

    @property
    def mentions(self) -> list[Mention]:
        return self.facts.mentions

    rule_aspect: str = "can_buy"  # the aspect the rules answer (an unsure "how to" still gets the verdict)

    @property
    def aspect(self) -> str:
        fill = self.slots.get("aspect")
        return fill.value if fill else "can_buy"

    def words(self, concept: str) -> list[str]:
        """The words that asserted a concept: the question's own words, else the reader's description."""
        words = self.facts.words(concept)
        if words:
            return words
        fill = self.asserted.get(concept)
        if fill is None:
            return []
        return list(fill.words) if fill.source == "gazetteer" and fill.words else [fill.describe()]

    def as_dict(self) -> JSON:
        return {"slots": {k: v.as_dict() for k, v in self.slots.items()},
                "asserted": {c: f.describe() for c, f in self.asserted.items()},
                "parties": [{"text": p.text, "category": p.category, "role": p.role} for p in self.parties],
                **({"set_aside": {c: f.describe() for c, f in self.set_aside.items()}} if self.set_aside else {}),
                "probabilities": {s: p.probabilities for s, p in self.predictions.items()}}


def compose(cfg: FrameConfig, facts: Facts, parties: list[Party], predictions: dict[str, Prediction],
            concept_kinds: dict[str, str], english: bool = False, denied: Denied = lambda start, end: False,
            roles: Roles | None = None) -> Frame:
    """The frame of one question from its readers' outputs (see the module docstring for who decides what).
    `denied(start, end)` says whether the lexicon reader's negation rules deny the words at that span (不是公益一类);
    `roles` (policy/parties.yaml `roles`) names the role concepts the parties assert."""
    parties = [p for p in parties if not denied(p.start, p.end)]
    background = [(m.start(), m.end()) for rx in cfg.background_forms for m in compile_pattern(rx).finditer(facts.text)]
    if background:  # a cue in the background set against the question is no cue
        denied = _denied_or_within(denied, background)
    frame = Frame(facts, parties=parties, predictions=predictions, english=english,
                  procedural=procedural(cfg, facts.text), defines=asks_definition(cfg, facts.text))
    present = _ban_words_as_topic(cfg, frame, facts.concepts, denied)
    # a class said only of a body that describes another (由公益一类事业单位出资设立的公司): it decides nothing
    describing = [p for p in parties if p.describes]
    for c in sorted(present & {p.concept for p in describing}):
        spans = [(m.start, m.end) for m in facts.mentions if m.concept == c]
        if spans and all(any(p.start <= a < p.end for p in describing) for a, _ in spans):
            _set_aside(frame, c)
            present = present - {c}
    for c in sorted(present):
        # granted as background (X不能买，这我们知道。那…): the words are not the case asked about
        spans = [(m.start, m.end) for m in facts.mentions if m.concept == c]
        if spans and all(any(s <= a and b <= e for s, e in background) for a, b in spans):
            _set_aside(frame, c)
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
                _set_aside(frame, c)
            present = present - {one, other}
    _aspect(cfg, frame, present, concept_kinds)
    _bought(cfg, frame, present, negated, concept_kinds, denied)
    _area(cfg, frame, present)
    _bought_by_named_area(cfg, frame)
    _ask_beside_area_guess(cfg, frame)
    if roles is not None:
        _parties(cfg, frame, parties, roles)
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
             or (general.asks_whether_risk_at is not None and _banned_risk(cfg, frame) >= general.asks_whether_risk_at
                 and matches_any(cfg.asks_permission, frame.text))))
    # (an aspect the reader could not tell counts only where a party rule would otherwise answer alone while a banned
    # reading of what is bought keeps real probability: 让国企先把路修好、分年付"服务费"，这算什么？)
    risky_default = party_in_role and _banned_risk(cfg, frame) >= (general.asks_whether_risk_at or 1.0)
    if (asked and (frame.slots["aspect"].source != "default" or risky_default)
            and not any(concept_kinds.get(c) in kinds for c in frame.concepts) and service_or_unsure
            and not frame.procedural):
        frame.asserted[general.concept] = SlotFill("area", "unnamed", "文件未点名的服务事项", "default", 1.0)
    return frame


def _denied_or_within(denied: Denied, spans: Spans) -> Denied:
    """`denied`, widened to the words that lie within one of `spans` (words the question tells as background)."""
    def check(start: int, end: int) -> bool:
        return denied(start, end) or any(s <= start and end <= e for s, e in spans)

    return check


def _banned_risk(cfg: FrameConfig, frame: Frame) -> float:
    """The bought reader's probability of the likeliest value that a ban decides (staff, goods, works …)."""
    pred = frame.predictions.get("bought")
    if pred is None:
        return 0.0
    return max((pred.p(v) for v, spec in cfg.slots["bought"].values.items() if spec.concept and not spec.service),
               default=0.0)


#: a sentence that asks (up to its question mark), and the clauses of a text
_ASKED = re.compile(r"[^。！!；;？?]*[？?]")
_CLAUSE = re.compile(r"[^，,。！!；;]+")


def procedural(cfg: FrameConfig, text: str) -> bool:
    """Whether a question only asks how, what or how much, never whether (frame.yaml scope `procedure_forms`,
    `eligibility_forms`): 宣传政府购买服务可以用哪些平台？ The how or what is looked for where the text asks — its
    sentences that end in a question mark, or with none its last clause: a plan told without asking (由机构决定谁家
    能拿、拿多少，我们只管拨钱。) leaves "is this allowed?" implied, whatever question words its story holds."""
    s = cfg.scope
    if matches_any(s.eligibility_forms, text):
        return False
    asked = "".join(m.group(0) for m in _ASKED.finditer(text))
    if not asked:
        clauses = _CLAUSE.findall(text.strip())
        asked = clauses[-1] if clauses else text
    return matches_any(s.procedure_forms, asked)


def _fill(cfg: FrameConfig, slot: str, value: str, source: str, confidence: float,
          words: Iterable[str] = ()) -> SlotFill:
    return SlotFill(slot, value, cfg.slots[slot].values[value].label, source, round(confidence, 4), tuple(words))


def _lexicon_value(cfg: FrameConfig, slot: str, present: set[str]) -> tuple[str | None, list[str]]:
    """The first value of a slot (in frame.yaml's order) one of whose lexicon concepts the question asserts."""
    for value, spec in cfg.slots[slot].values.items():
        hit = [c for c in spec.lexicon if c in present]
        if hit:
            return value, hit
    return None, []


def _aspect(cfg: FrameConfig, frame: Frame, present: set[str], concept_kinds: dict[str, str]) -> None:
    slot = cfg.slots["aspect"]
    given = [v for v, spec in slot.values.items() if spec.concept and spec.concept in frame.given]
    pred = frame.predictions.get("aspect")
    if given:
        fill = _fill(cfg, "aspect", given[0], "given", 1.0)
    elif frame.defines and "text_info" in slot.values:
        fill = _fill(cfg, "aspect", "text_info", "form", 1.0)  # 承接主体是指什么？ asks what the text means, not whether
    elif pred and pred.confidence >= slot.decide_at and _out_of_scope_yields(cfg, frame, pred):
        best = max((v for v in pred.probabilities if v != "out_of_scope"), key=pred.p)
        fill = _fill(cfg, "aspect", best, "classifier", pred.p(best))
    elif pred and pred.confidence >= slot.decide_at:
        fill = _fill(cfg, "aspect", pred.value, "classifier", pred.confidence)
    else:
        value, hit = _lexicon_value(cfg, "aspect", present)
        if value:
            fill = _fill(cfg, "aspect", value, "lexicon", 1.0, [w for c in hit for w in frame.facts.words(c)])
        else:  # nothing says otherwise: the product's question
            fill = _fill(cfg, "aspect", "can_buy", "default", pred.p("can_buy") if pred else 0.0)
    frame.slots["aspect"] = fill
    frame.rule_aspect = fill.value
    if fill.value in cfg.info_aspects and fill.source == "classifier" and (
            fill.confidence < cfg.info_aspect_at
            or matches_any(cfg.asks_permission, frame.text)):
        frame.rule_aspect = "can_buy"  # not sure it only asks how, or it asks may we: a rule that decides gives its verdict
    if (fill.value in cfg.party_aspects and fill.source == "classifier" and not frame.parties
            and cfg.party_aspect_yields_at is not None and _banned_risk(cfg, frame) >= cfg.party_aspect_yields_at
            and not any(concept_kinds.get(c) in cfg.party_kinds for c in present)):
        frame.rule_aspect = "can_buy"  # no party to decide about; what is bought is surely banned: may it be bought?
    concept = slot.values[fill.value].concept
    if concept:
        frame.asserted[concept] = fill


def _set_aside(frame: Frame, concept: str) -> None:
    """The concept's words read but not taken as a fact of the case (shown in the trace as set aside)."""
    frame.set_aside[concept] = SlotFill("facts", concept, concept, "lexicon", 1.0, tuple(frame.facts.words(concept)))


def asks_definition(cfg: FrameConfig, text: str) -> bool:
    """Whether the question asks what a term of the texts means (scope `definition_forms`) and, outside those words,
    never asks whether (什么是辅助性服务？ — not 什么是辅助性服务，保洁能买吗？; what counts as X is no "does it count")."""
    forms = [compile_pattern(rx) for rx in cfg.scope.definition_forms]
    if not any(rx.search(text) for rx in forms):
        return False
    rest = text
    for rx in forms:
        rest = rx.sub(" ", rest)
    return not matches_any(cfg.scope.eligibility_forms, rest)


def _out_of_scope_yields(cfg: FrameConfig, frame: Frame, pred: Prediction) -> bool:
    """Whether an out-of-scope reading (below `out_of_scope_yields_below`) gives way: the question asks whether, in so
    many words, and names the texts' subject (跟退休会计签了协议…这能算购买服务吗？ is a question on the texts)."""
    at, s = cfg.out_of_scope_yields_below, cfg.scope
    return (at is not None and pred.value == "out_of_scope" and pred.confidence < at and not frame.procedural
            and matches_any(s.eligibility_forms, frame.text) and matches_any(s.subject_words, frame.text))


def _bought(cfg: FrameConfig, frame: Frame, present: set[str], negated: set[str], concept_kinds: dict[str, str],
            denied: Denied) -> None:
    slot = cfg.slots["bought"]
    value, hit = _lexicon_value(cfg, "bought", present)
    pred = frame.predictions.get("bought")
    if value:
        frame.slots["bought"] = _fill(cfg, "bought", value, "lexicon", 1.0,
                                      [w for c in hit for w in frame.facts.words(c)])
    elif pred:
        frame.slots["bought"] = _fill(cfg, "bought", pred.value, "classifier", pred.confidence)
    questioned = frame.facts.questioned
    for v, spec in slot.values.items():
        # the question asks whether a ban's words apply (这就不属于劳务派遣了吧？) without saying so: ask, do not decide
        hit = [c for c in spec.lexicon if c in questioned]
        if spec.possible and hit and not any(c in present for c in spec.lexicon):
            words = [m.term for m in frame.facts.mentions if m.concept in hit]
            # (a cue inside what the service is about — the dispatched workers whose disputes are mediated — is no cue)
            spans = [(m.start, m.end) for m in frame.facts.mentions if m.concept in hit] + list(frame.facts.topic_spans)
            # (beside a service of which the ban's words are often the subject — training, job services, mediation —
            # paying by results is answer enough: 给公益性岗位人员培训、按人次付费)
            asked = not any(c in present for c in spec.topic_of_services)
            if _settled(cfg, spec, frame, present, denied, spans, asked=asked):
                if spec.settled:
                    frame.asserted[spec.settled] = _fill(cfg, "bought", _service_value(cfg), "lexicon", 1.0, words)
            else:
                frame.asserted[spec.possible] = _fill(cfg, "bought", v, "lexicon", 1.0, words)
    if pred is None or frame.procedural:
        return  # a guess at what is bought is for a question that asks whether, not how or what
    # read as out of scope, only the question's own structure says what is bought, for the slot's `out_of_scope_values`:
    # a cue that decides by itself (`unblocked`: the provider deciding for the office) — not a thing bought (an air
    # purifier bought for the office, its receipt: a reimbursement question), nor people's pay and place alone (a
    # retired accountant coming in two days a week is an individual provider to check)
    oos = _reads_out_of_scope(frame)
    for v, spec in slot.values.items():
        if not spec.concept or any(c in present for c in spec.lexicon):
            continue  # the lexicon already settled this value
        if any(c in frame.facts.excepted for c in spec.lexicon) and not any(c in negated for c in spec.lexicon):
            continue  # its words occur, but in a phrase the lexicon knows means something else (聘请律师事务所)
        overruled = any(c in present for c in (*spec.unless, *(spec.corroborated.unless if spec.corroborated else ())))
        said = {kind: m.group(0) for kind in spec.unless_contradicted_by
                if overruled and (m := _cue_match(cfg, kind, frame.text, denied))}
        if said and spec.possible:
            # the question says what overrules the value (按成果付费, 人员由公司自己管理) and its opposite too (科长每天给
            # 他们派活): it asks which holds
            frame.asserted[spec.possible] = _fill(cfg, "bought", v, "corroborated", pred.p(v), list(said.values()))
            continue
        if any(c in present for c in spec.unless):
            continue  # overruled in so many words (按服务成果付费 overrules a guess at staff)
        p = pred.p(v)
        # a cue that is itself a word of the value the question tells only as background (办公楼也在装修，…想问个正事：…)
        # backs nothing up
        told = [(m.start, m.end) for m in frame.facts.mentions if m.background and m.concept in spec.lexicon]
        backed = _corroboration(cfg, spec, frame.text, p, present, _denied_or_within(denied, told) if told else denied)
        if oos:
            cor = spec.corroborated
            if backed and cor is not None and v in slot.out_of_scope_values and set(backed) & set(cor.unblocked):
                frame.asserted[spec.concept] = _fill(cfg, "bought", v, "corroborated", p, list(backed.values()))
            continue
        if any(c in negated for c in spec.lexicon) or frame.rule_aspect not in spec.guess_for:
            # only the question's own structure counts when it denies the ban's name in so many words (不是劳务派遣，
            # 公司出两人常驻我局、听我们安排 is what （十一） calls 变相用工) or asks an aspect the value's guess is not for
            # (`guess_for`: a one-year "agreement" with a clerk who sits at our desk and takes our orders is staffing,
            # whatever the term asked about) — a guess alone does not
            if backed:
                frame.asserted[spec.concept] = _fill(cfg, "bought", v, "corroborated", p, list(backed.values()))
            continue
        cor = spec.corroborated
        # beside a named service, the question's own structure still says what is bought when the reading is at the
        # cues' `at` (买几台B超机 for 医疗资源下沉, 新建护理楼 for 养老: the service is the purpose, not the thing bought),
        # and below it only the `unblocked` cues do (the monitoring stations themselves)
        overrides = bool(backed) and cor is not None and (p >= cor.at or bool(set(backed) & set(cor.unblocked)))
        if any(concept_kinds.get(k) in spec.unless_kinds for k in present) and not overrides:
            # the question names a service the lexicon knows: not goods, works or financing by a guess — unless a cue
            # that decides beside a blocker says so (the monitoring stations themselves, bought for an encouraged area)
            continue
        if p >= slot.decide_at_for(v) and _alone_may_decide(cfg, frame, spec, present, concept_kinds, denied):
            frame.asserted[spec.concept] = _fill(cfg, "bought", v, "classifier", p)
        elif backed:
            frame.asserted[spec.concept] = _fill(cfg, "bought", v, "corroborated", p, list(backed.values()))
        elif any(concept_kinds.get(c) in spec.quiet_with_kinds for c in present):
            continue  # a public service the lexicon names (上门送餐): a bare guess at staff does not ask
        elif spec.possible and (ask_at := spec.ask_at or slot.ask_at) is not None and p >= ask_at:
            frame.asserted[spec.possible] = _fill(cfg, "bought", v, "classifier", p)
        elif spec.possible:
            frame.open_guesses[v] = p


def _bought_by_named_area(cfg: FrameConfig, frame: Frame) -> None:
    """A service area the lexicon names says what is bought when the bought reader's guess counted for nothing (it
    neither decided nor made the rules ask): the frame shows 服务 from those words, not a guess that played no part
    (政府能否购买公共卫生服务？ is not shown as 语义判断 0.80：货物). The reader's probabilities stay in the trace."""
    bought, area = frame.slots.get("bought"), frame.slots.get("area")
    if bought is None or area is None or bought.source != "classifier" or area.source != "lexicon":
        return
    values = cfg.slots["bought"].values
    spec = values[bought.value]
    if spec.service or spec.concept in frame.asserted or (spec.possible and spec.possible in frame.asserted):
        return
    frame.slots["bought"] = _fill(cfg, "bought", _service_value(cfg), "lexicon", 1.0, area.words)


def _service_value(cfg: FrameConfig) -> str:
    """The first value of the bought slot that is a service (frame.yaml order: 服务)."""
    return next(v for v, spec in cfg.slots["bought"].values.items() if spec.service)


def _ask_beside_area_guess(cfg: FrameConfig, frame: Frame) -> None:
    """An encouraged area that only the area reader guessed (no word names it) allows nothing while a prohibited
    reading of what is bought keeps real probability (frame.yaml `bought.ask_beside_area_guess_at`): the rules ask the
    deciding question instead (公司派人协助居委会处理日常事务 read as elderly care 0.71 and staff 0.46: ask about staff)."""
    area = frame.slots.get("area")
    at = cfg.slots["bought"].ask_beside_area_guess_at
    if area is None or area.source != "classifier" or at is None:
        return
    if area.value in cfg.slots["bought"].ask_beside_area_guess_except:
        return  # an area whose rules never allow by themselves (辅助性服务 is reviewed): nothing to hold back
    for v, p in frame.open_guesses.items():
        possible = cfg.slots["bought"].values[v].possible
        if p >= at and possible is not None:
            frame.asserted[possible] = _fill(cfg, "bought", v, "classifier", p)


def _alone_may_decide(cfg: FrameConfig, frame: Frame, spec: SlotValue, present: set[str], concept_kinds: dict[str, str],
                      denied: Denied) -> bool:
    """Whether a sure classifier reading (its `decide_at`) may decide without a structural cue: only for a question
    that asks whether it can be bought, and only when nothing in the question's own words speaks against it — no
    service the lexicon names (frame.yaml `alone_blocked_by_kinds`; 老人助餐 is not outside the duties however sure the
    reader is), none of the words that make its cues mean something else (`corroborated.unless`: the provider manages
    its own people) or say it is something else (`blocked_by`: help with an approval, not the approval), no cue that
    settles the value (its `essential` cues, else any) said only to be denied (no construction involved at all), and
    no word of the ban itself that the question only quotes, asks about or denies (通知里写了严禁变相用工，那…会不会也在
    禁止之列？): then the rules ask instead."""
    if frame.rule_aspect != "can_buy":
        return False
    if any(concept_kinds.get(c) in (*cfg.alone_blocked_by_kinds, *spec.quiet_with_kinds) for c in present):
        return False
    c = spec.corroborated
    if c is not None and (any(x in present for x in c.unless)
                          or any(_cue_match(cfg, kind, frame.text, denied) for kind in c.blocked_by)
                          or any(_denied_only(cfg, kind, frame.text, denied) for kind in (c.essential or c.cues))):
        return False
    return not any(m.concept in spec.lexicon and (m.negated or m.questioned) for m in frame.facts.mentions)


def _corroboration(cfg: FrameConfig, spec: SlotValue, text: str, p: float, present: set[str],
                   denied: Denied) -> dict[str, str]:
    """The question's own words that back up a classifier reading below `decide_at` (frame.yaml `corroborated`), by
    cue kind: one match per kind, undenied, when there are at least `need` kinds including an `essential` one; else
    {}. Below `at` (from `unblocked_at`), and beside a blocker, only the `unblocked` kinds count."""
    c = spec.corroborated
    if c is None or any(x in present for x in c.unless):
        return {}
    if p >= c.at:
        kinds = c.cues
    elif c.unblocked_at is not None and p >= c.unblocked_at:
        kinds = c.unblocked
    else:
        return {}
    found = {kind: m.group(0) for kind in kinds if (m := _cue_match(cfg, kind, text, denied))}
    if any(_cue_match(cfg, kind, text, denied) for kind in c.blocked_by):
        found = {kind: words for kind, words in found.items() if kind in c.unblocked}
    if len(found) < c.need or (c.essential and not set(found) & set(c.essential)):
        return {}
    return found


def _denied_only(cfg: FrameConfig, kind: str, text: str, denied: Denied) -> bool:
    """Whether a cue's words occur only where the question denies them (no construction involved at all)."""
    spans = [m for rx in cfg.cues[kind] for m in compile_pattern(rx).finditer(text)]
    return bool(spans) and all(denied(m.start(), m.end()) for m in spans)


def _ban_words_as_topic(cfg: FrameConfig, frame: Frame, present: set[str], denied: Denied) -> set[str]:
    """A ban's words as the subject of a service the lexicon names (frame.yaml `topic_of_services`): mediating the
    disputes of dispatched workers, training newly hired workers. With no other word of the ban and none of its
    cues outside those words (no head count, per-head pay, people placed with or directed by the office), the words
    are set aside and the value is `settled` (the service's own rule answers) — or, for a value with nothing to
    settle it, the rules ask the deciding question through `possible`. A value's `topic_form_words` (hiring) are a
    subject only inside one of its `topic_forms` (the exam logistics of our own recruitment), never just beside a
    labour service (就业服务站的工作人员招进来 hires the service's own staff). Returns the concepts still present."""
    facts = frame.facts
    for value, spec in cfg.slots["bought"].values.items():
        words = [c for c in (*spec.topic_words, *spec.topic_form_words) if c in present and c not in facts.given]
        spans = _said(facts, words)
        in_form = _in_topic_form(cfg, spec, frame.text, spans)
        if not in_form:
            words = [c for c in words if c not in spec.topic_form_words]  # these are a subject only inside a form
            spans = _said(facts, words)
        if not words:
            continue
        if not in_form and not any(c in present for c in spec.topic_of_services):
            continue
        if any(c in present for c in spec.lexicon if c not in words):
            continue  # the ban said in other words too (按人头, 派人坐班): not only a subject
        if not in_form and any(_cue_match(cfg, kind, frame.text, denied) for kind in spec.topic_blocked_by):
            continue  # the words name the means (通过劳务派遣方式配备): how people are taken on
        cues = spec.corroborated.cues if spec.corroborated else ()
        outside = spans + _said(facts, spec.unless)  # 按人数 inside 录用后按人数结算 is pay by outcome, not per head
        if any(_cue_match(cfg, kind, frame.text, denied, outside=outside) for kind in cues):
            continue  # a cue in words of its own (三个人, 按人头): people are what is bought
        fill = _fill(cfg, "bought", value, "lexicon", 1.0, [m.term for m in facts.mentions if m.concept in words])
        for c in words:
            frame.set_aside[c] = fill
        # the words only name what the service is about — the disputes mediated, the workers trained, the programme
        # evaluated, the firms helped to hire — and no cue in words of its own (checked above) says people are bought:
        # a value that can be settled (staff) is; one that cannot (financing) asks its deciding question
        if spec.settled:
            frame.asserted[spec.settled] = fill
        elif spec.possible:
            frame.asserted[spec.possible] = fill
    return present - set(frame.set_aside)


def _said(facts: Facts, concepts: Iterable[str]) -> list[tuple[int, int]]:
    """The spans where the question says the concepts' words — not where it only asks about them (算不算购买人员招聘？
    is the asking branch's) or denies them."""
    return [(m.start, m.end) for m in facts.mentions if m.concept in concepts and not m.questioned and not m.negated]


def _in_topic_form(cfg: FrameConfig, spec: SlotValue, text: str, spans: Spans) -> bool:
    """Whether every mention of the ban's words lies inside a match of one of the value's `topic_forms` cues (the
    object of an evaluation, an inspection or a study; the way other employers staff themselves)."""
    forms = [(m.start(), m.end()) for kind in spec.topic_forms for rx in cfg.cues[kind]
             for m in compile_pattern(rx).finditer(text)]
    return bool(spans) and all(any(s <= a and b <= e for s, e in forms) for a, b in spans)


def _settled(cfg: FrameConfig, spec: SlotValue, frame: Frame, present: set[str], denied: Denied, spans: Spans,
             asked: bool = False) -> bool:
    """Whether the question itself answers the deciding question that a ban's words, quoted, asked about or the
    subject of a service, would raise: it says the value's `unless` in so many words (按培训人次付费, paid per case) —
    when the ban's words are only asked about (`asked`: 这算不算变相用工？), one of its `corroborated.unless` too (the
    provider manages its own people) — and no cue of the ban in words of its own (a head count, per-head pay, people
    placed with or directed by the office) says otherwise: then nothing is left to ask. Beside a service of which the
    ban's words are the usual subject (not `asked`: 购买劳动争议调解，劳务派遣的禁令管不管？), no cue of the ban is
    answer enough, as when the words only name the subject (`_ban_words_as_topic`)."""
    cues = spec.corroborated.cues if spec.corroborated else ()
    if not any(c in present for c in spec.unless):
        return not asked and not any(_cue_match(cfg, kind, frame.text, denied, outside=spans) for kind in cues)
    runs_own = bool(spec.corroborated and any(c in present for c in spec.corroborated.unless))
    if asked and not runs_own:
        return False
    if runs_own and spec.corroborated is not None and spec.corroborated.essential:
        # the provider hires and manages its own people: how many it uses (不管它用几个人) says nothing; only the
        # essential cues (per-head pay, people directed by the office) still do
        cues = spec.corroborated.essential
    return not any(_cue_match(cfg, kind, frame.text, denied, outside=spans) for kind in cues)


def _cue_match(cfg: FrameConfig, kind: str, text: str, denied: Denied, outside: Spans = ()) -> re.Match[str] | None:
    """The first undenied match of a named cue (frame.yaml `cues`), or None; with `outside` (spans), only a match
    that does not lie within one of them (a ban's own word is not a cue for itself)."""
    return next((m for rx in cfg.cues[kind] for m in compile_pattern(rx).finditer(text)
                 if not denied(m.start(), m.end())
                 and not any(s <= m.start() and m.end() <= e for s, e in outside)), None)


def _area(cfg: FrameConfig, frame: Frame, present: set[str]) -> None:
    slot = cfg.slots["area"]
    value, hit = _lexicon_value(cfg, "area", present)
    pred = frame.predictions.get("area")
    if value:
        frame.slots["area"] = _fill(cfg, "area", value, "lexicon", 1.0, [w for c in hit for w in frame.facts.words(c)])
        return
    if pred is None or _reads_out_of_scope(frame) or frame.rule_aspect != "can_buy":
        return  # the area is guessed only for "can it be bought": it decides nothing about who or how
    bought = frame.slots.get("bought")
    if bought and not cfg.slots["bought"].values[bought.value].service:
        return  # what is bought is not a service: the area of a service does not apply
    spec = slot.values[pred.value]
    if any(c in frame.facts.excepted for c in spec.lexicon):
        return  # its words occur only as something else (the model copied: 照搬买养老服务那套做法): not what is bought
    if pred.confidence >= slot.decide_at and spec.concept:
        fill = _fill(cfg, "area", pred.value, "classifier", pred.confidence)
        frame.slots["area"] = fill
        frame.asserted[spec.concept] = fill


def _reads_out_of_scope(frame: Frame) -> bool:
    """Whether the aspect reader's best guess is that the knowledge base does not cover the question (and did not
    give way to an in-scope reading: `_out_of_scope_yields`)."""
    pred = frame.predictions.get("aspect")
    aspect = frame.slots.get("aspect")
    yielded = aspect is not None and aspect.source == "classifier" and aspect.value != "out_of_scope"
    return frame.aspect == "out_of_scope" or bool(pred and pred.value == "out_of_scope" and not yielded)


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
    for i, party in enumerate(parties):
        role = party.role
        if role is None and not party.describes:  # a company owned by the city government: the city is no party to it
            # the role asked about goes to a party with no role words, unless another party's words already hold it
            # (a public hospital, the purchaser, hires a cleaning firm: the firm is not a second buyer)
            if aspect == "who_buys" and "purchaser" not in roles:
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


@dataclass(frozen=True)
class Scope:
    """Whether the knowledge base answers the question, and why (the step of frame.yaml's `scope` that decided)."""

    answered: bool
    step: str
    note: str | None = None


def _asks_about_ban(cfg: FrameConfig, frame: Frame) -> bool:
    """Whether the question asks if a ban's own words apply (算不算变相用工？ the ban on labour dispatch): a mention
    of a concept that decides what is bought, asked about or quoted rather than asserted."""
    bans = {c for spec in cfg.slots["bought"].values.values() for c in spec.lexicon}
    return bool(frame.facts.questioned & bans)


def asks_figure_not_held(cfg: FrameConfig, frame: Frame) -> bool:
    """Whether the question only asks how much, how many points or which province (frame.yaml scope `figure_forms`),
    of a figure the two texts do not hold (`figures_held`: the contract term, the national spending)."""
    s = cfg.scope
    if not (frame.procedural and matches_any(s.figure_forms, frame.text)):
        return False
    years = {int(m.group("y")) for rx in s.year_forms for m in compile_pattern(rx).finditer(frame.text)}
    if years and s.figure_years and not years & set(s.figure_years):
        return True  # 2024年的支出规模: a year the texts hold no figure for
    return not matches_any(s.figures_held, frame.text)


def decide_scope(cfg: FrameConfig, frame: Frame, fired: bool, banned: bool, retrieval_in_scope: bool,
                 names_clause: bool = False, general_only: bool = False) -> Scope:
    """The one scope stage, in the order policy/frame.yaml writes down. `names_clause`: the question names a clause
    of the knowledge base (by an alias such as 负面清单, or by an article number the documents hold). `general_only`:
    every rule that fired is a general check (`fallback`) set off by the aspect read alone — for a question that only
    asks how or what, it does not outvote the out-of-scope reader in step 2 (Word文档的目录怎么生成 is not a question
    on the guidance catalogue)."""
    s = cfg.scope
    if general_only and frame.aspect == "out_of_scope":
        fired = False  # the general test, asserted beside an out-of-scope reading, keeps nothing in scope by itself
    pred = frame.predictions.get("aspect")
    p_oos = pred.p("out_of_scope") if pred else 0.0
    reads_oos = _reads_out_of_scope(frame)
    # the in-scope aspects together (how_to 0.50 + text_info 0.48 is a question on the texts, not an unsure one)
    aspect_in_scope = bool(pred and pred.value != "out_of_scope" and 1.0 - p_oos >= s.in_scope_at)
    if frame.given:
        return Scope(True, "given")  # the user answered a follow-up or filled the form: the question is ours
    if names_clause:
        return Scope(True, "names_clause")
    if _asks_about_ban(cfg, frame):
        return Scope(True, "asks_about_ban")  # 这算不算劳务派遣？ does the ban on X apply?: a question about a held clause
    names_subject = matches_any(s.subject_words, frame.text)
    if not names_subject and matches_any(s.other_laws, frame.text):
        return Scope(False, "other_law")  # 劳动合同法对派遣比例怎么规定？ what another law says is not ours
    if asks_figure_not_held(cfg, frame):
        return Scope(False, "figure_not_held")  # 满意度指标占多少分？ the texts set no such figure
    if (pred and pred.value != "out_of_scope" and pred.confidence - p_oos >= s.document_names_margin
            and matches_any(s.document_names, frame.text)):
        return Scope(True, "names_document")  # When was Caizong [2023] No. 12 issued? asks about a text held
    if frame.defines:
        return Scope(True, "asks_definition")  # 什么是政府购买服务？ asks what a term of the texts means
    # a buyer and a provider both named with their roles (残联让一家协会直接定下谁领补贴…) say a purchase as plainly as its name
    subject_said = names_subject or ("purchaser" in frame.slots and "provider" in frame.slots)
    # a how / what question whose words set off a ban but never name the texts' subject (派遣员工的社保由谁交？) is left
    # to the out-of-scope reader; one that names it (政府购买服务对劳务派遣有什么规定？) asks about a held clause
    if (fired and not ((general_only or (banned and not subject_said)) and frame.procedural)
            and (retrieval_in_scope or aspect_in_scope) and p_oos < s.refuse_over_rule_at):
        return Scope(True, "rule")
    refuse_at = s.refuse_over_ban_at if subject_said else s.refuse_over_ban_unnamed_at
    if banned and p_oos < refuse_at and (not frame.procedural or subject_said):
        return Scope(True, "prohibition")  # a prohibition the clause index also finds needs a sure reader to drop
    if p_oos >= (s.out_of_scope_over_retrieval_at if retrieval_in_scope else s.out_of_scope_at):
        return Scope(False, "aspect_out_of_scope")
    if fired and (banned or not reads_oos):
        return Scope(True, "rule")  # a prohibition in the question's own words is answered unless the reader is sure
    if fired:
        return Scope(False, "rule_without_support")
    if aspect_in_scope or retrieval_in_scope:
        return Scope(True, "aspect_or_retrieval")
    return Scope(False, "nothing_relevant")
