"""The models of frame.yaml (the question frame's slots, cues, general test and scope stage) and examples.yaml (the
examples the frame's readers are trained on)."""
from __future__ import annotations

from typing import Self

from pydantic import Field, field_validator, model_validator

from .fields import ConceptKind, Strict, check_patterns


class Corroborated(Strict):
    """A classifier reading below `decide_at` that structural cues in the question's own words back up: at `at` or
    above, with cues of at least `need` different kinds of `cues` (one of them among `essential`), it decides."""

    at: float = Field(gt=0, le=1)
    need: int = Field(ge=1)
    cues: tuple[str, ...] = Field(min_length=1)
    essential: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()  # concepts that make the cues mean something else (the provider manages its people)
    blocked_by: tuple[str, ...] = ()  # cue kinds that say it is something else (a service noun: 代运营服务)
    unblocked: tuple[str, ...] = ()  # cue kinds that decide even beside a blocker (the thing becomes ours: goods however named)
    unblocked_at: float | None = Field(default=None, gt=0, le=1)  # the reading an `unblocked` cue needs (below `at`)
    # read as out of scope, the value is said by this many `essential` kinds of cue together (their vacant posts
    # filled and their leave approved by us), as it is by one `unblocked` cue (the slot's `out_of_scope_values`)
    out_of_scope_essential: int | None = Field(default=None, ge=2)
    # … or, at this reading or above, by the cues it needs anyway (`need`, one `essential`): a reader that sure and the
    # question's own structure agreeing (paid per head for people inside our office) outweigh the out-of-scope reading
    out_of_scope_at: float | None = Field(default=None, gt=0, le=1)
    # party categories (parties.yaml) beside which it does not (one person paid by the day: 第十八条's check asks)
    out_of_scope_at_unless_parties: tuple[str, ...] = ()
    # whatever the reader's reading (below `at` too: it reads the named service, 护工), this many `essential` kinds of
    # cue together say the value (the people picked by us and their pay paid by us)
    essential_alone: int | None = Field(default=None, ge=2)


class SlotValue(Strict):
    label: str
    concept: str | None = None
    possible: str | None = None
    ask_at: float | None = Field(default=None, gt=0, le=1)  # this value's own threshold for `possible`
    decide_at: float | None = Field(default=None, gt=0, le=1)  # this value's own threshold for deciding alone
    guess_for: tuple[str, ...] = ("can_buy",)  # the aspects asked for which a classifier reading of it counts
    unless: tuple[str, ...] = ()  # concepts said in so many words that overrule a classifier reading of it
    # cue kinds that contradict an `unless` said beside them (pay by results, yet one of the office's heads assigns the day's
    # work): the question says both, so the rules ask the deciding question through `possible`
    unless_contradicted_by: tuple[str, ...] = ()
    unless_kinds: tuple[str, ...] = ()  # concept kinds (a named service) that overrule a classifier reading of it
    quiet_with_kinds: tuple[str, ...] = ()  # concept kinds beside which a reading below `decide_at` does not ask (cues still decide)
    service: bool = False  # a value of `bought` that is a service (or nothing in particular): the area applies
    # a ban's words as the subject of a service the lexicon names (disputes of dispatched workers mediated, training
    # for newly hired workers): beside one of `topic_of_services`, with none of the value's cues, its `topic_words`
    # are set aside and the rules ask through `possible` instead
    topic_of_services: tuple[str, ...] = ()
    topic_words: tuple[str, ...] = ()
    topic_blocked_by: tuple[str, ...] = ()  # cue kinds that say the words are the means, not the subject (通过劳务派遣配备)
    # cue kinds whose match holds the ban's words as the object of a study, an evaluation or an inspection (对公益性岗位
    # 的使用情况做绩效评价, checks of labour-dispatch agencies) or as how other employers staff themselves (使用派遣工的
    # 企业): the words are a subject then too, service or no service; a means cue (`topic_blocked_by`) does not undo it
    topic_forms: tuple[str, ...] = ()
    # ban words set aside only inside a `topic_forms` match (the exam logistics of our own recruitment), never just
    # beside a topic service: 就业服务站的工作人员招进来 hires the service's own staff
    topic_form_words: tuple[str, ...] = ()
    # the question answers the deciding question itself (it says `unless` — and, where the ban's words are only asked
    # about, one of `corroborated.unless` too — and no cue of the value in words of its own): `settled` is asserted
    # instead of `possible` (按件数结算、调解员由机构自己管理，会不会算变相用工？)
    settled: str | None = None
    lexicon: tuple[str, ...] = ()
    corroborated: Corroborated | None = None


class Slot(Strict):
    label: str
    decide_at: float = Field(gt=0, le=1)
    ask_at: float | None = Field(default=None, gt=0, le=1)
    ask_beside_area_guess_at: float | None = Field(default=None, gt=0, le=1)  # ask from here when only a guessed area allows
    ask_beside_area_guess_except: tuple[str, ...] = ()  # area values whose rules do not allow by themselves
    # values whose structural cues still say what is bought when the aspect reader reads the question as out of scope
    out_of_scope_values: tuple[str, ...] = ()
    values: dict[str, SlotValue]

    @model_validator(mode="after")
    def _known_out_of_scope_values(self) -> Self:
        unknown = [v for v in self.out_of_scope_values if v not in self.values]
        if unknown:
            raise ValueError(f"out_of_scope_values: unknown value {unknown[0]!r}")
        return self

    @model_validator(mode="after")
    def _ask_below_decide(self) -> Self:
        if self.ask_at is not None and self.ask_at >= self.decide_at:
            raise ValueError("ask_at must be below decide_at")
        for name, value in self.values.items():
            ask = value.ask_at if value.ask_at is not None else self.ask_at
            if value.decide_at is not None and ask is not None and ask >= value.decide_at:
                raise ValueError(f"values.{name}: ask_at must be below decide_at")
        return self

    def decide_at_for(self, value: str) -> float:
        """The reading at which the classifier's value decides by itself: the value's own `decide_at`, else the slot's."""
        own = self.values[value].decide_at
        return self.decide_at if own is None else own


class GeneralTest(Strict):
    concept: str
    aspects: tuple[str, ...]
    decided_by_kinds: tuple[ConceptKind, ...]
    # aspects read by the aspect reader that still take the general test when the question asks, in so many words
    # (`asks_whether_forms`, regexes), whether it may get someone to do something: "Can the bureau hire an evaluator?"
    asks_whether_with: tuple[str, ...] = ()
    asks_whether_forms: tuple[str, ...] = ()
    asks_whether_risk_at: float | None = Field(default=None, gt=0, le=1)
    # concept kinds of a manner (how it is paid, what the contract says): a question read as "how" that names one asks
    # about that manner, whatever banned reading the bought reader keeps — the risk path does not make it ask whether
    manner_kinds: tuple[ConceptKind, ...] = ()
    # a question the aspect reader takes for out of scope, naming a party in a role, also takes the general test: if
    # a rule on the party keeps it in scope, that rule does not answer "may it be bought" alone; the test alone keeps
    # nothing in scope
    out_of_scope_reads: bool = False

    @field_validator("asks_whether_forms")
    @classmethod
    def _forms_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        check_patterns(patterns)
        return patterns


class Scope(Strict):
    out_of_scope_at: float = Field(gt=0, le=1)
    out_of_scope_over_retrieval_at: float = Field(gt=0, le=1)
    refuse_over_rule_at: float = Field(gt=0, le=1)
    refuse_over_ban_at: float = Field(gt=0, le=1)
    refuse_over_ban_unnamed_at: float = Field(gt=0, le=1)  # …for a question that never names the texts' subject
    # a question that asks how / what / how much and never whether (劳务派遣公司的经营许可证怎么申请？) does not keep a
    # prohibition its words set off against the out-of-scope reader (step 3)
    other_documents: tuple[str, ...] = ()  # a document of another year (2024年…通知): not held, out of scope
    procedure_forms: tuple[str, ...] = ()
    eligibility_forms: tuple[str, ...] = ()
    # words that name the knowledge base's own subject (政府购买服务, 通知, the notice): a how / what question with a ban's
    # words and none of these (劳务派遣工的社保由谁交？) is about labour law, not the texts (steps 2 and 3)
    subject_words: tuple[str, ...] = ()
    in_scope_at: float = Field(gt=0, le=1)
    # the asking office's own words (我们, 局里, our bureau): beside a provider named in its role and a question that asks
    # whether, a purchase said without the texts' words (step 3b); kept unless the reader is surer than this
    office_words: tuple[str, ...] = ()
    commission_refused_at: float = Field(default=1.0, gt=0, le=1)
    own_party_before: tuple[str, ...] = ()  # words just before a party that make it the asker's own (我们公司, our NGO)
    opening_party_within: int = Field(default=0, ge=0)  # a party in no role counts when it opens the question
    # a how-much question asks for a figure; the texts hold only the figures `figures_held` names (step 2b)
    figure_forms: tuple[str, ...] = ()
    figures_held: tuple[str, ...] = ()
    # the years the held figures are of (the national spending of 2022): a how-much question that names only other
    # years (`year_forms`, group `y`) asks for a figure the texts do not hold, whatever `figures_held` says
    figure_years: tuple[int, ...] = ()
    year_forms: tuple[str, ...] = ()
    other_laws: tuple[str, ...] = ()  # laws the texts do not rest on: a question on them alone is not ours (step 2a)
    # the two texts named by their number or short name (财综〔2023〕12号, Order No. 102): a question that names one and
    # that the aspect reader first reads as in scope asks about that text (step 1b)
    document_names: tuple[str, ...] = ()
    document_names_margin: float = Field(default=0.1, ge=0, le=1)  # …by this much over the out-of-scope reading
    # a term the texts define asked what it means (政府购买服务是指什么？ what counts as an auxiliary service?): the
    # question is on the texts' own words, kept in scope before the out-of-scope reader (step 1c)
    definition_forms: tuple[str, ...] = ()

    _compiles = field_validator("other_documents", "procedure_forms", "eligibility_forms", "subject_words",
                                "figure_forms", "figures_held", "year_forms", "other_laws", "document_names",
                                "office_words", "own_party_before", "definition_forms")(
        classmethod(lambda cls, patterns: check_patterns(patterns)))


class FrameConfig(Strict):
    slots: dict[str, Slot]
    cues: dict[str, tuple[str, ...]] = {}  # named structural cues (regexes) that back up a classifier reading

    @field_validator("cues")
    @classmethod
    def _cues_compile(cls, cues: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, patterns in cues.items():
            try:
                check_patterns(patterns)
            except ValueError as exc:
                raise ValueError(f"cues.{name}: {exc}") from None
        return cues

    @model_validator(mode="after")
    def _cues_named(self) -> Self:
        for slot_id, slot in self.slots.items():
            for value_id, value in slot.values.items():
                c = value.corroborated
                if c is None:
                    continue
                for kind in (*c.cues, *c.essential, *c.blocked_by):
                    if kind not in self.cues:
                        raise ValueError(f"slots.{slot_id}.values.{value_id}.corroborated: unknown cue {kind!r}")
                for kind in c.unblocked:
                    if kind not in c.cues:
                        raise ValueError(f"slots.{slot_id}.values.{value_id}.corroborated.unblocked: {kind!r} is not one of its cues")
        return self
    roles_from_aspect_at: float = Field(gt=0, le=1)
    info_aspects: tuple[str, ...]
    info_aspect_at: float = Field(gt=0, le=1)
    # a question read as asking who may buy or provide that names no party at all, while what is bought is surely a
    # banned kind (at least `party_aspect_yields_at`), asks whether it can be bought: the rules answer that
    party_aspects: tuple[str, ...] = ()
    party_kinds: tuple[str, ...] = ()  # concept kinds that name a party (a named provider or purchaser keeps the aspect)
    party_aspect_yields_at: float | None = Field(default=None, gt=0, le=1)
    # a question the aspect reader takes for out of scope, less sure than this, that asks whether (scope
    # `eligibility_forms`) and names the texts' subject (scope `subject_words`) is read by its best in-scope aspect
    out_of_scope_yields_below: float | None = Field(default=None, gt=0, le=1)
    # an aspect asked in so many words (能作为购买主体吗, can it act as the provider?): taken over the reader's first
    # in-scope reading when said in the last clause of the sentence that asks, or else when its own probability is within
    # `aspect_forms_within` of it — and no other worded aspect competes
    aspect_forms: dict[str, tuple[str, ...]] = {}
    aspect_forms_within: float = Field(default=0.0, ge=0, le=1)
    # regexes matched at a clause's start (after its comma): a clause that only gives an example of what the clause
    # before it asks (…be the purchaser, say for interpreting?) — the worded aspect before it still closes the question
    example_clauses: tuple[str, ...] = ()

    @field_validator("aspect_forms")
    @classmethod
    def _aspect_forms_compile(cls, forms: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for patterns in forms.values():
            check_patterns(patterns)
        return forms
    asks_permission: tuple[str, ...] = ()  # regexes: a question that asks may we (可以吗, 行不行, is it OK) wants a verdict
    alone_blocked_by_kinds: tuple[str, ...] = ()  # concept kinds (a named service) beside which no sure reading decides alone
    # regexes whose match is background the question sets against what it asks (X不能买，这个我们知道。那Y呢？): the
    # structural cues inside a match say nothing about what is asked
    background_forms: tuple[str, ...] = ()
    # regexes whose match is someone else's claim about the case that the asker then rebuts (有人说这算变相用工…其实人员
    # 都归机构管): the structural cues inside say nothing, and a concept of `rebutted_kinds` said only there is set aside
    rebutted_forms: tuple[str, ...] = ()
    rebutted_kinds: tuple[ConceptKind, ...] = ()

    @field_validator("asks_permission", "background_forms", "rebutted_forms", "example_clauses")
    @classmethod
    def _permission_compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        check_patterns(patterns)
        return patterns
    denials: dict[str, str] = {}  # a denied concept asserts another (无需编入预算: has_budget denied → no_budget)
    # pairs of concepts that cannot both hold of one purchase: said together (in one catalogue and not in another),
    # neither decides — the rules ask instead
    contradictions: dict[str, str] = {}
    general_test: GeneralTest
    scope: Scope

    @field_validator("slots")
    @classmethod
    def _required_slots(cls, slots: dict[str, Slot]) -> dict[str, Slot]:
        missing = {"aspect", "bought", "area"} - set(slots)
        if missing:
            raise ValueError(f"missing slots: {', '.join(sorted(missing))}")
        return slots



#: training examples as policy/examples.yaml holds them: slot → value → example questions
ExampleTexts = dict[str, dict[str, list[str]]]


class Examples(Strict):
    slots: ExampleTexts

    @field_validator("slots")
    @classmethod
    def _enough(cls, slots: ExampleTexts) -> ExampleTexts:
        for slot, values in slots.items():
            if len(values) < 2:
                raise ValueError(f"{slot}: a slot needs at least two values")
            for value, texts in values.items():
                if len(texts) < 5:
                    raise ValueError(f"{slot}.{value}: at least 5 examples per value ({len(texts)})")
                seen: set[str] = set()
                for t in texts:
                    if not t.strip():
                        raise ValueError(f"{slot}.{value}: an empty example")
                    if t in seen:
                        raise ValueError(f"{slot}.{value}: duplicate example {t!r}")
                    seen.add(t)
        return slots

