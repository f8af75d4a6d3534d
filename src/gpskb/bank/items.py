"""A bank's items and what checking them gives: BankItem (one row of the file), StatementCheck (gpskb's answer to one
statement), ItemCheck and BankReport; and BankError, a bank that cannot be imported as given."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import GpskbError
from ..jsontypes import JSON

#: what gpskb makes of a statement, as the CLI and the app say it
TRUTH_LABEL = {True: "成立", False: "不成立", None: "未判断"}
MAX_PROBLEMS_SHOWN = 20


class BankError(GpskbError):
    """A question bank that cannot be imported as given. `problems` lists each one (row and column named)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:MAX_PROBLEMS_SHOWN]
        more = len(self.problems) - len(shown)
        tail = f"\n……另有 {more} 处问题" if more > 0 else ""
        super().__init__("题库未导入（没有导入任何一题）：\n" + "\n".join(f"- {p}" for p in shown) + tail)


@dataclass(frozen=True)
class BankItem:
    """One item of a bank: its spreadsheet row, type (判断/单选/多选), stem, options by letter and key (对/错 or
    letters in order), and the bank's own explanation if it has one."""

    row: int
    type: str
    stem: str
    options: dict[str, str]
    key: str
    explanation: str = ""

    def to_dict(self) -> JSON:
        return asdict(self)


@dataclass
class StatementCheck:
    letter: str | None  # the option this statement puts in the stem (None for a 判断题)
    text: str
    claims: bool  # the statement says the thing may be done (False: that it may not)
    verdict: str
    holds: bool | None  # gpskb: may it be done? (None: gpskb does not decide)
    conclusion: str = ""
    aspect: str = ""  # what gpskb read the statement as asking
    rule: str = ""  # the rule that decided gpskb's verdict ("" when none did)
    same_as_stem: bool = False  # gpskb answers the stem alone the same way: the option itself decides nothing
    citations: list[str] = field(default_factory=list)  # clause ids, deciding clause first
    error: str = ""  # the statement could not be asked (too long, no words…)

    @property
    def true(self) -> bool | None:
        """Whether gpskb finds the statement true (None: it does not decide, or its option changes nothing)."""
        return None if self.holds is None or self.same_as_stem else self.holds == self.claims


@dataclass
class ItemCheck:
    item: BankItem
    statements: list[StatementCheck]
    gpskb_key: str | None  # the key gpskb's verdicts give (None: undecided)
    agrees: bool | None  # None: gpskb decides too little to compare

    def to_dict(self) -> JSON:
        return {"item": self.item.to_dict(), "gpskb_key": self.gpskb_key, "agrees": self.agrees,
                "statements": [{**asdict(s), "true": s.true} for s in self.statements]}


@dataclass
class BankReport:
    items: list[ItemCheck]

    def count(self, agrees: bool | None) -> int:
        return sum(1 for c in self.items if c.agrees is agrees)

    @property
    def disagreements(self) -> list[ItemCheck]:
        return [c for c in self.items if c.agrees is False]

    @property
    def undecided(self) -> list[ItemCheck]:
        return [c for c in self.items if c.agrees is None]

    def summary(self) -> JSON:
        n = len(self.items)
        by_type: dict[str, dict[str, int]] = {}
        for t in ("判断", "单选", "多选"):
            mine = [c for c in self.items if c.item.type == t]
            if mine:
                by_type[t] = {"items": len(mine), "agree": sum(1 for c in mine if c.agrees is True)}
        return {"items": n, "agree": self.count(True), "disagree": self.count(False), "undecided": self.count(None),
                "agreement": round(self.count(True) / n, 3) if n else 0.0, "by_type": by_type}

