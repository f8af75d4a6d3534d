"""Quantities: the concepts the numbers of a question set (签五年 → contract_term_over_3y), per language.yaml
`quantities` — a duration, a term given by its dates, a first term with its renewals. Numbers may be written in
digits, in Chinese (十二, 两, 半) or in English words (five)."""
from __future__ import annotations

import datetime
import re
from collections.abc import Iterable

from ..jsontypes import JSON
from ..numerals import chinese_number
from .facts import Mention
from .negation import Negation

_ENGLISH_NUMBERS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}

#: where the first duration of a quantity stands in the text, and how long it is: (start, years, end)
FirstTerm = tuple[int, float, int]


def _number(s: str) -> float | None:
    """12, 1.5, 五, 十二, 二十四, 半 → a number (None when it is not one)."""
    try:
        return float(s)
    except ValueError:
        pass
    if s in ("半", "half"):
        return 0.5
    if s in _ENGLISH_NUMBERS:
        return float(_ENGLISH_NUMBERS[s])
    n = chinese_number(s)
    return None if n is None else float(n)


def _range_concept(quantity: JSON, years: float) -> str | None:
    """The concept of the language.yaml quantity range (above < value <= upto) the value falls into."""
    return next((r["concept"] for r in quantity["ranges"] if r["above"] < years <= r["upto"]), None)


def quantity_mentions(quantities: Iterable[JSON], text: str, aspect: str | None, negation: Negation) -> list[Mention]:
    """Concepts set by numbers in the question (签五年 → contract_term_over_3y), per language.yaml quantities:
    the value of a match, a term given by its dates (`date_ranges`), and — with `renewals` — the first term read
    times one plus the renewals, or plus a renewal's length, as the whole term. When the question asks about
    the quantity's aspect (`when_asked`: the aspect reader says it asks about the contract term), a bare
    duration (a five-year deal, 搞个五年的) is read as the term too."""
    out: list[Mention] = []
    for q in quantities:
        first = _durations(q, text, aspect, negation, out)
        _date_ranges(q, text, out)
        if first is not None:
            out += _renewals(q, text, first, negation)
    return out


def _durations(q: JSON, text: str, aspect: str | None, negation: Negation, out: list[Mention]) -> FirstTerm | None:
    """The durations one quantity's patterns read (and its bare ones, when the question asks the quantity's aspect),
    added to `out` with their denials; returns the first duration in the text, the term a renewal extends."""
    history = [(x.start(), x.end()) for rx in q["compiled_exceptions"] for x in rx.finditer(text)]
    seen: set[tuple[int, int]] = set()
    first: FirstTerm | None = None
    asked = q.get("when_asked")
    bare = q["compiled_when_asked"] if asked and aspect == asked["aspect"] else []
    for rx in [*q["compiled"], *bare]:
        is_bare = rx in bare
        for m in rx.finditer(text):
            value = _number(m.group("n"))
            unit = q["per_unit"].get(m.group("unit"))
            if value is None or unit is None or (m.start(), m.end()) in seen or (
                    is_bare and any(s <= m.start("n") < e for s, e in seen)):
                continue
            seen.add((m.start(), m.end()))
            if any(s <= m.start("n") < e for s, e in history):
                continue  # history, not a term (an annual contract signed again these past years)
            years = value * float(unit)
            if first is None or m.start() < first[0]:
                first = (m.start(), years, m.end())
            if "more" in m.re.groupindex and m.group("more"):
                years += 0.01  # 三年以上: more than three years
            concept = _range_concept(q, years)
            if concept:
                # a denial before the match, or inside it before the number (合同不签五年)
                inner = negation.mask(text)[m.start():m.start("n")]
                cue = negation.before(text, m.start()) or next((c for c in negation.cues if c in inner), None)
                out.append(Mention(concept, m.group(0), m.start(), m.end(), cue is not None, cue))
    return first


def _date_ranges(q: JSON, text: str, out: list[Mention]) -> None:
    """Terms given by their dates, from a month of one year to a month of a later one, added to `out` (not where a
    mention found already stands)."""
    for rx in q.get("compiled_date_ranges") or ():
        for m in rx.finditer(text):
            if any(x.start <= m.start() < x.end for x in out):
                continue
            # a year with no month runs to its end (2025年到2027年 is three years); a start said relative to
            # now, or not said, is this month (签到2030年)
            relative = not (m.group("y1") or "").isdigit()
            start = _month(q, m, "m1", datetime.date.today().month if relative else 1)
            years = _year(q, m, "y2") - _year(q, m, "y1") + (_month(q, m, "m2", 13) - start) / 12
            concept = _range_concept(q, years) if years > 0 else None
            if concept:
                out.append(Mention(concept, m.group(0), m.start(), m.end()))


def _renewals(q: JSON, text: str, first: FirstTerm, negation: Negation) -> list[Mention]:
    """The whole term a first term and its renewals make (续签两次, 再续一年), each renewal undenied."""
    out: list[Mention] = []
    for rx in q["compiled_renewals"]:
        for m in rx.finditer(text):
            k = _number(m.group("k")) or (q.get("count_words") or {}).get(m.group("k"))
            if not k or negation.before(text, m.start()) or (first[0] < m.end() and m.start() < first[2]):
                continue  # denied, or the first term itself (续签一年 alone is a one-year term, not 1 + 1)
            added = m.group("add") if "add" in m.re.groupindex else None
            # a renewal for a length adds it in its own unit (再续一年, 先延两个月); a count multiplies the first term
            length = k * float(q["per_unit"].get(added.strip(" -"), 1)) if added else 0.0
            concept = _range_concept(q, first[1] + length if added else first[1] * (1 + k))
            if concept:
                out.append(Mention(concept, m.group(0), m.start(), m.end()))
    return out


def _year(q: JSON, m: re.Match[str], group: str) -> int:
    """The year a date range's match gives in `group`: a number, a year said relative to this one (`relative_years`:
    今年, next year), or this year when the range does not say where it starts (签到2030年)."""
    value = m.group(group) or ""
    if value.isdigit():
        return int(value)
    after: int = (q.get("relative_years") or {}).get(value.lower(), 0)
    return datetime.date.today().year + after


def _month(q: JSON, m: re.Match[str], group: str, default: int = 1) -> int:
    """The month a date range's match gives in `group` (a number or one of `month_names`), `default` when none."""
    value = m.group(group) if group in m.re.groupindex else None
    if not value:
        return default
    return int(value) if value.isdigit() else (q.get("month_names") or {}).get(value[:3], 1)
