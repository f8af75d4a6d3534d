"""What a question says, as the lexicon reader found it: each Mention of a concept's words (denied, asked about or told
as background), and the Facts they add up to."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mention:
    """One lexicon term found in the normalised question (`term` as the user wrote it; `canonical` the lexicon term
    when it was matched despite a homophone typo)."""

    concept: str
    term: str
    start: int
    end: int
    negated: bool = False
    cue: str | None = None
    canonical: str | None = None
    questioned: bool = False  # the question asks whether the word applies, or quotes it (这算不算派遣用工？)
    background: bool = False  # told as what happened or is going on (办公楼也在装修), not what is bought: questioned too


@dataclass
class Facts:
    """What a question says, as concepts: those asserted, those explicitly denied, and every mention found."""

    text: str
    mentions: list[Mention] = field(default_factory=list)
    given: set[str] = field(default_factory=set)  # concepts supplied directly (a form, a follow-up answer)
    excepted: set[str] = field(default_factory=set)  # concepts whose terms occur only inside their exceptions (聘请律师)
    # where the question talks about something as the subject of what is bought (disputes of dispatched workers)
    topic_spans: tuple[tuple[int, int], ...] = ()
    # concepts whose words the question asks the meaning of (什么叫「融资行为」?): a question on the texts
    defined: frozenset[str] = frozenset()

    @property
    def concepts(self) -> set[str]:
        """Concepts asserted by the question or given directly (negated mentions do not count)."""
        return {m.concept for m in self.mentions if not m.negated and not m.questioned} | set(self.given)

    @property
    def negated(self) -> set[str]:
        return {m.concept for m in self.mentions if m.negated and not m.questioned} - self.concepts  # 是不是不在…？ asks

    @property
    def questioned(self) -> set[str]:
        """Concepts the question only asks about or quotes (这就不属于劳务派遣了吧？): neither asserted nor denied."""
        return {m.concept for m in self.mentions if m.questioned and not m.negated} - self.concepts

    def words(self, concept: str) -> list[str]:
        """The words of the question that asserted a concept (in order, without repeats)."""
        out: list[str] = []
        for m in self.mentions:
            if m.concept == concept and not m.negated and m.term not in out:
                out.append(m.term)
        return out
