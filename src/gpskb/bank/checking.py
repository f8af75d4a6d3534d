"""Checking a bank: gpskb asked about every statement of every item, and its key for each item compared with the
bank's."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import InputError
from ..schema.exam import ExamConfig
from .items import BankItem, BankReport, ItemCheck, StatementCheck
from .statements import Statements

if TYPE_CHECKING:
    from ..answer import Engine


def check(engine: Engine, items: list[BankItem], progress: Callable[[int, int], None] | None = None) -> BankReport:
    """Ask gpskb about every statement of every item (each distinct statement once). `progress(done, total)` is
    called after each item."""
    cfg = engine.kb.exam
    reader = Statements(cfg)
    cache: dict[str, StatementCheck] = {}
    checks = []
    def ask(text: str, claim_text: str | None = None) -> StatementCheck:
        if text not in cache:
            claim_text = claim_text or text
            cache[text] = _ask(engine, text, reader.claims(claim_text), cfg, reader.absolute_claim(claim_text))
        return cache[text]

    for i, item in enumerate(items, 1):
        alone = reader.stem_alone(item)
        base = ask(alone) if alone else None
        statements = []
        for letter, text in reader.of(item):
            s = ask(text, reader.claim_text(item, letter, text))
            same = base is not None and (s.verdict, s.rule) == (base.verdict, base.rule)
            if base is not None and s.aspect in cfg.not_in_blanks:
                s = dataclasses.replace(s, holds=None)  # a number put in a blank: the item asks what the text says
            statements.append(dataclasses.replace(s, letter=letter, same_as_stem=same))
        checks.append(_compare(item, statements, reader.asks_false(item.stem)))
        if progress:
            progress(i, len(items))
    return BankReport(checks)


def _ask(engine: Engine, text: str, claims: bool, cfg: ExamConfig, absolute: bool = False) -> StatementCheck:
    """gpskb's answer to one statement, and whether it says the thing may be done: only for a statement read as
    asking whether (cfg.judged_aspects) and decided by a rule that is not a fallback; otherwise undecided. A
    permission granted without exception (`absolute`) holds only where gpskb allows outright, not conditionally."""
    try:
        ans = engine.answer(text)
    except InputError as exc:
        return StatementCheck(None, text, claims, "error", None, error=str(exc))
    aspect = (ans.understood or {}).get("aspect", "")
    rule = next((r["rule_id"] for r in ans.rules if r.get("status") == "decisive"), "")
    judged = aspect in cfg.judged_aspects and rule and not engine.kb.rule(rule).fallback
    holds = cfg.holds.get(ans.verdict) if judged else None
    if holds and claims and absolute and ans.verdict != "allowed":
        holds = False  # 只要…即可: gpskb names conditions the statement says are not needed
    return StatementCheck(None, text, claims, ans.verdict, holds,
                          conclusion=ans.conclusion, citations=[c.clause_id for c in ans.citations], aspect=aspect,
                          rule=rule)


def _compare(item: BankItem, statements: list[StatementCheck], asks_false: bool = False) -> ItemCheck:
    """gpskb's key for the item: for a choice item the options it finds true (false, when the stem asks for the
    wrong statements), and whether that is the bank's key."""
    if item.type == "判断":
        true = statements[0].true
        key = None if true is None else ("对" if true else "错")
        return ItemCheck(item, statements, key, None if key is None else key == item.key)
    if len(statements) > 1 and len({(s.verdict, s.rule) for s in statements}) == 1:
        return ItemCheck(item, statements, None, None)  # one answer for every option: gpskb cannot tell them apart
    wanted = not asks_false
    chosen = "".join(s.letter or "" for s in statements if s.true is wanted)
    unknown = [s.letter for s in statements if s.true is None]
    if not unknown:
        return ItemCheck(item, statements, chosen, chosen == item.key)
    # some options undecided: a disagreement already if a decided option contradicts the key
    contradicts = any(s.true is not None and (s.true is wanted) != ((s.letter or "") in item.key) for s in statements)
    return ItemCheck(item, statements, None, False if contradicts else None)

