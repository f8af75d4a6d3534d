"""The frame of a question — SlotFill, one slot's value as read, and Frame, the question as read — with the helpers
every slot's reading uses: a fill of frame.yaml's values, the lexicon's value for a slot, a concept set aside, the
words denied, the risk of a banned reading, whether the question reads as out of scope."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ..jsontypes import JSON
from ..learn import Prediction
from ..nlp.facts import Facts, Mention
from ..parties import Party
from ..schema.frame import FrameConfig

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
    # where the sentence that asks begins and ends in the text, (0, 0) when none ends in a question mark (read once:
    # compose.asking_span())
    asking: tuple[int, int] = (0, 0)
    # the asking office asks whether it may have a named provider do the work (read once: scope.commissions())
    commissioned: bool = False
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


def make_fill(cfg: FrameConfig, slot: str, value: str, source: str, confidence: float,
          words: Iterable[str] = ()) -> SlotFill:
    return SlotFill(slot, value, cfg.slots[slot].values[value].label, source, round(confidence, 4), tuple(words))


def lexicon_value(cfg: FrameConfig, slot: str, present: set[str]) -> tuple[str | None, list[str]]:
    """The first value of a slot (in frame.yaml's order) one of whose lexicon concepts the question asserts."""
    for value, spec in cfg.slots[slot].values.items():
        hit = [c for c in spec.lexicon if c in present]
        if hit:
            return value, hit
    return None, []


def set_aside(frame: Frame, concept: str) -> None:
    """The concept's words read but not taken as a fact of the case (shown in the trace as set aside)."""
    frame.set_aside[concept] = SlotFill("facts", concept, concept, "lexicon", 1.0, tuple(frame.facts.words(concept)))


def denied_or_within(denied: Denied, spans: Spans) -> Denied:
    """`denied`, widened to the words that lie within one of `spans` (words the question tells as background)."""
    def check(start: int, end: int) -> bool:
        return denied(start, end) or any(s <= start and end <= e for s, e in spans)

    return check


def banned_risk(cfg: FrameConfig, frame: Frame) -> float:
    """The bought reader's probability of the likeliest value that a ban decides (staff, goods, works …)."""
    pred = frame.predictions.get("bought")
    if pred is None:
        return 0.0
    return max((pred.p(v) for v, spec in cfg.slots["bought"].values.items() if spec.concept and not spec.service),
               default=0.0)


def reads_out_of_scope(frame: Frame) -> bool:
    """Whether the aspect reader's best guess is that the knowledge base does not cover the question (and did not
    give way to an in-scope reading: `_out_of_scope_yields`)."""
    pred = frame.predictions.get("aspect")
    aspect = frame.slots.get("aspect")
    yielded = aspect is not None and aspect.source == "classifier" and aspect.value != "out_of_scope"
    return frame.aspect == "out_of_scope" or bool(pred and pred.value == "out_of_scope" and not yielded)

