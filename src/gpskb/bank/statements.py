"""From items to statements (policy/exam.yaml): a 判断题 is its stem; each option of a choice question is the stem
with the option in its blank (or a statement of its own); and whether a statement claims that something may be done
or that it may not."""
from __future__ import annotations

import re
from collections.abc import Iterable

from ..schema.exam import ExamConfig
from .items import BankItem


def _alternation(words: Iterable[str]) -> str:
    """A regex source that matches any of the words, longest first."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


class Statements:
    """Turns items into statements and reads what each claims (policy/exam.yaml)."""

    def __init__(self, cfg: ExamConfig) -> None:
        self.cfg = cfg
        self.blanks = [re.compile(p) for p in cfg.blanks]
        self.lead = re.compile(cfg.choice_lead)
        self.asks_false_rx = [re.compile(p) for p in cfg.asks_false]
        self.statement_rx = re.compile(cfg.statement_options) if cfg.statement_options else None
        self.lead_anywhere = re.compile(r"[,，]?\s*(?:以下|下列)")
        self.negative = re.compile(_alternation(cfg.claim.negative), re.I)
        self.positive = re.compile(_alternation(cfg.claim.positive), re.I)
        self.modifier_end = re.compile(_alternation(cfg.claim.modifier_end), re.I) if cfg.claim.modifier_end else None
        self.noun_phrase = re.compile(cfg.claim.noun_phrase_option) if cfg.claim.noun_phrase_option else None
        self.noun_phrase_stand_in = cfg.claim.noun_phrase_stand_in
        self.coordination = re.compile(_alternation(cfg.claim.coordination), re.I) if cfg.claim.coordination else None
        self.absolute = re.compile(_alternation(cfg.claim.absolute), re.I) if cfg.claim.absolute else None

    def of(self, item: BankItem) -> list[tuple[str | None, str]]:
        if item.type == "判断":
            return [(None, item.stem)]
        if self.whole_statements(item.stem):
            context = self.lead_anywhere.split(item.stem, maxsplit=1)[0].strip("，, ")
            return [(letter, f"{context}，{option}" if context else option) for letter, option in item.options.items()]
        return [(letter, self.fill(item.stem, option)) for letter, option in item.options.items()]

    def stem_alone(self, item: BankItem) -> str | None:
        """The stem with its blank left empty: what gpskb reads without any option (None for statement options)."""
        if item.type == "判断" or self.whole_statements(item.stem):
            return None
        return self.fill(item.stem, "").strip("：:，, ") or None

    def whole_statements(self, stem: str) -> bool:
        """Whether the options are statements of their own (关于…，下列说法正确的是)."""
        return bool(self.statement_rx and self.statement_rx.search(stem) and self.lead_anywhere.search(stem))

    def asks_false(self, stem: str) -> bool:
        """Whether the stem asks for the options that do not hold (下列说法错误的是)."""
        return any(rx.search(stem) for rx in self.asks_false_rx)

    def fill(self, stem: str, option: str) -> str:
        """The stem with the option in its first blank; without a blank, the option takes the place of 下列…哪些."""
        option = option.strip().rstrip("。；;")
        for blank in self.blanks:
            m = blank.search(stem)
            if m:
                return stem[:m.start()] + option + stem[m.end():]
        m = self.lead.match(stem)
        if m and m.end():
            rest = re.sub(r"的(?:是|有)?[：:]?\s*[？?]?\s*$", "", stem[m.end():]).rstrip("？?：: ")
            return option + rest
        return stem.rstrip("？?：: 。") + "：" + option

    def claims(self, text: str) -> bool:
        """True if the statement says the thing may be done; False if it says it may not. A negative word counts
        unless it only qualifies the subject (a modal word follows it with a modifier end between); a negative inside
        another's scope cancels it, one coordinated with it (…，也不能…) does not."""
        negatives = []
        for m in self.negative.finditer(text):
            after = text[m.end():]
            pos = self.positive.search(after)
            if pos and self.modifier_end and self.modifier_end.search(after[:pos.start()]):
                continue
            negatives.append(m)
        negative = False
        for i, m in enumerate(negatives):
            between = text[negatives[i - 1].end():m.start()] if i else ""
            if i and self.coordination and self.coordination.search(between):
                continue  # 既不能…，也不能…: the same claim again
            negative = not negative
        return not negative

    def claim_text(self, item: BankItem, letter: str | None, text: str) -> str:
        """The words whose negatives make the statement's claim. An option that is a noun phrase put into the stem
        (不属于政府职责范围的服务事项 as an answer to 下列属于…的有) names a thing: its own negative describes the thing
        and says nothing of whether it may be done, so the option's words are left out; an option that is a predicate
        (不得超过3年) keeps them."""
        option = item.options.get(letter or "", "").strip().rstrip("。；;")
        if not option or item.type == "判断" or self.whole_statements(item.stem) or option not in text:
            return text
        if not (self.noun_phrase and self.noun_phrase.match(option)):
            return text
        return text.replace(option, self.noun_phrase_stand_in, 1)

    def absolute_claim(self, text: str) -> bool:
        """Whether the statement grants without exception (只要…即可, 一律, 均可)."""
        return bool(self.absolute and self.absolute.search(text))

