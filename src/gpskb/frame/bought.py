"""What is bought: the lexicon's words for it, the bought reader's guesses, and the structural cues of the question's
own words (policy/frame.yaml `cues`) that back a guess up, overrule it, or make the rules ask instead — a ban's words
asked about, said as the subject of a service, or said beside what answers the deciding question."""
from __future__ import annotations

import re
from collections.abc import Iterable

from ..learn import Prediction
from ..nlp.facts import Facts
from ..schema.frame import FrameConfig, SlotValue
from ..text import compile_pattern
from .model import Denied, Frame, Spans, denied_or_within, lexicon_value, make_fill, reads_out_of_scope


def read_bought(cfg: FrameConfig, frame: Frame, present: set[str], negated: set[str], concept_kinds: dict[str, str],
                denied: Denied) -> None:
    """What is bought: the slot's value (the lexicon's words, else the bought reader's best guess), the deciding
    question for a ban's words the question asks about, and what each of the reader's guesses asserts."""
    pred = frame.predictions.get("bought")
    value, hit = lexicon_value(cfg, "bought", present)
    if value:
        frame.slots["bought"] = make_fill(cfg, "bought", value, "lexicon", 1.0,
                                          [w for c in hit for w in frame.facts.words(c)])
    elif pred:
        frame.slots["bought"] = make_fill(cfg, "bought", pred.value, "classifier", pred.confidence)
    _ban_words_asked(cfg, frame, present, denied)
    if pred is None or frame.procedural:
        return  # a guess at what is bought is for a question that asks whether, not how or what
    # read as out of scope, only the question's own structure says what is bought, for the slot's `out_of_scope_values`:
    # a cue that decides by itself (`unblocked`: the provider deciding for the office) or essential cues of several kinds
    # together (`out_of_scope_essential`: our vacant posts filled and their leave approved by us) — not a thing bought
    # (an air purifier bought for the office, its receipt: a reimbursement question), nor people's pay and place alone
    # (a retired accountant coming in two days a week is an individual provider to check)
    oos = reads_out_of_scope(frame)
    for v, spec in cfg.slots["bought"].values.items():
        _weigh_guess(cfg, frame, v, spec, pred, oos, present, negated, concept_kinds, denied)


def _ban_words_asked(cfg: FrameConfig, frame: Frame, present: set[str], denied: Denied) -> None:
    """The question asks whether a ban's words apply (这就不属于劳务派遣了吧？) without saying so: the rules ask the
    deciding question (`possible`) — unless the question answers it itself (`settled`)."""
    questioned = frame.facts.questioned
    # a ban word the question also uses as the subject of what is bought (对用派遣工多的企业做合规检查，这跟「禁止派遣用工」
    # 有关系吗？): asking whether the ban applies is answered by that reading, not a question for the asker
    as_topic = {m.concept for m in frame.facts.mentions if m.questioned
                and any(m.term in frame.text[s:e] for s, e in frame.facts.topic_spans)}
    for v, spec in cfg.slots["bought"].values.items():
        hit = [c for c in spec.lexicon if c in questioned and c not in as_topic]
        if spec.possible and hit and not any(c in present for c in spec.lexicon):
            words = [m.term for m in frame.facts.mentions if m.concept in hit]
            # (a cue inside what the service is about — the dispatched workers whose disputes are mediated — is no cue)
            spans = [(m.start, m.end) for m in frame.facts.mentions if m.concept in hit] + list(frame.facts.topic_spans)
            # (beside a service of which the ban's words are often the subject — training, job services, mediation —
            # paying by results is answer enough: 给公益性岗位人员培训、按人次付费)
            asked = not any(c in present for c in spec.topic_of_services)
            if _settled(cfg, spec, frame, present, denied, spans, asked=asked):
                if spec.settled:
                    frame.asserted[spec.settled] = make_fill(cfg, "bought", _service_value(cfg), "lexicon", 1.0, words)
            else:
                frame.asserted[spec.possible] = make_fill(cfg, "bought", v, "lexicon", 1.0, words)


def _weigh_guess(cfg: FrameConfig, frame: Frame, v: str, spec: SlotValue, pred: Prediction, oos: bool,
                 present: set[str], negated: set[str], concept_kinds: dict[str, str], denied: Denied) -> None:
    """What the bought reader's probability for value `v` asserts: its concept (alone when it is sure and nothing
    in the question's words speaks against it, or backed up by structural cues), its `possible` concept (the rules
    ask), or nothing but an open guess. `oos`: the question reads as out of scope."""
    slot = cfg.slots["bought"]
    if not spec.concept or any(c in present for c in spec.lexicon):
        return  # the lexicon already settled this value
    if any(c in frame.facts.excepted for c in spec.lexicon) and not any(c in negated for c in spec.lexicon):
        return  # its words occur, but in a phrase the lexicon knows means something else (聘请律师事务所)
    overruled = any(c in present for c in (*spec.unless, *(spec.corroborated.unless if spec.corroborated else ())))
    said = {kind: m.group(0) for kind in spec.unless_contradicted_by
            if overruled and (m := _cue_match(cfg, kind, frame.text, denied))}
    if said and spec.possible:
        # the question says what overrules the value (按成果付费, 人员由公司自己管理) and its opposite too (科长每天给
        # 他们派活): it asks which holds
        frame.asserted[spec.possible] = make_fill(cfg, "bought", v, "corroborated", pred.p(v), list(said.values()))
        return
    if any(c in present for c in spec.unless):
        return  # overruled in so many words (按服务成果付费 overrules a guess at staff)
    p = pred.p(v)
    # a cue that is itself a word of the value the question tells only as background (办公楼也在装修，…想问个正事：…)
    # backs nothing up
    told = [(m.start, m.end) for m in frame.facts.mentions if m.background and m.concept in spec.lexicon]
    backed = _corroboration(cfg, spec, frame.text, p, present, denied_or_within(denied, told) if told else denied)
    if oos:
        cor = spec.corroborated
        if backed and cor is not None and v in slot.out_of_scope_values and (
                set(backed) & set(cor.unblocked)
                or (cor.out_of_scope_essential and len(set(backed) & set(cor.essential)) >= cor.out_of_scope_essential)
                or (cor.out_of_scope_at is not None and p >= cor.out_of_scope_at
                    and not any(party.category in cor.out_of_scope_at_unless_parties for party in frame.parties))):
            frame.asserted[spec.concept] = make_fill(cfg, "bought", v, "corroborated", p, list(backed.values()))
        return
    if any(c in negated for c in spec.lexicon) or frame.rule_aspect not in spec.guess_for:
        # only the question's own structure counts when it denies the ban's name in so many words (不是劳务派遣，
        # 公司出两人常驻我局、听我们安排 is what （十一） calls 变相用工) or asks an aspect the value's guess is not for
        # (`guess_for`: a one-year "agreement" with a clerk who sits at our desk and takes our orders is staffing,
        # whatever the term asked about) — a guess alone does not
        if backed:
            frame.asserted[spec.concept] = make_fill(cfg, "bought", v, "corroborated", p, list(backed.values()))
        return
    cor = spec.corroborated
    # beside a named service, the question's own structure still says what is bought when the reading is at the
    # cues' `at` (买几台B超机 for 医疗资源下沉, 新建护理楼 for 养老: the service is the purpose, not the thing bought),
    # and below it only the `unblocked` cues do (the monitoring stations themselves)
    overrides = bool(backed) and cor is not None and (p >= cor.at or bool(set(backed) & set(cor.unblocked)))
    if any(concept_kinds.get(k) in spec.unless_kinds for k in present) and not overrides:
        # the question names a service the lexicon knows: not goods, works or financing by a guess — unless a cue
        # that decides beside a blocker says so (the monitoring stations themselves, bought for an encouraged area)
        return
    if p >= slot.decide_at_for(v) and _alone_may_decide(cfg, frame, spec, present, concept_kinds, denied):
        frame.asserted[spec.concept] = make_fill(cfg, "bought", v, "classifier", p)
    elif backed:
        frame.asserted[spec.concept] = make_fill(cfg, "bought", v, "corroborated", p, list(backed.values()))
    elif any(concept_kinds.get(c) in spec.quiet_with_kinds for c in present):
        return  # a public service the lexicon names (上门送餐): a bare guess at staff does not ask
    elif spec.possible and (ask_at := spec.ask_at or slot.ask_at) is not None and p >= ask_at:
        frame.asserted[spec.possible] = make_fill(cfg, "bought", v, "classifier", p)
    elif spec.possible:
        frame.open_guesses[v] = p


def bought_by_named_area(cfg: FrameConfig, frame: Frame) -> None:
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
    frame.slots["bought"] = make_fill(cfg, "bought", _service_value(cfg), "lexicon", 1.0, area.words)


def _service_value(cfg: FrameConfig) -> str:
    """The first value of the bought slot that is a service (frame.yaml order: 服务)."""
    return next(v for v, spec in cfg.slots["bought"].values.items() if spec.service)


def ask_beside_area_guess(cfg: FrameConfig, frame: Frame) -> None:
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
            frame.asserted[possible] = make_fill(cfg, "bought", v, "classifier", p)


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
    {}. Below `at` (from `unblocked_at`), and beside a blocker, only the `unblocked` kinds count; below both, only
    `essential_alone` essential kinds together."""
    c = spec.corroborated
    if c is None or any(x in present for x in c.unless):
        return {}
    if p >= c.at:
        kinds = c.cues
    elif c.unblocked_at is not None and p >= c.unblocked_at:
        kinds = c.unblocked
    elif c.essential_alone:
        found = {kind: m.group(0) for kind in c.essential if (m := _cue_match(cfg, kind, text, denied))}
        return found if len(found) >= c.essential_alone else {}
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


def ban_words_as_topic(cfg: FrameConfig, frame: Frame, present: set[str], denied: Denied) -> set[str]:
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
        fill = make_fill(cfg, "bought", value, "lexicon", 1.0, [m.term for m in facts.mentions if m.concept in words])
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
    answer enough, as when the words only name the subject (`ban_words_as_topic`)."""
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

