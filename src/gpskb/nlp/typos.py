"""Lexicon terms typed with slips: homophones (劳务排遣 for 劳务派遣) and a few characters inserted (上岗前的培训 for
岗前培训). Each matcher yields the spans of near matches; the reader reads them as the terms they stand for."""
from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator

from .pinyin import Readings, homophone_readings


def with_terms(text: str, slips: dict[tuple[int, int], str]) -> str:
    """`text` with each slip's characters [start, end) replaced by the term it stands for (same length)."""
    if not slips:
        return text
    chars = list(text)
    for (s, e), term in slips.items():
        chars[s:e] = term
    return "".join(chars)


class HomophoneMatcher:
    """Finds lexicon terms typed with homophone slips (劳务排遣 for 劳务派遣, 公共卫声 for 公共卫生): the same pinyin,
    at most `max_subs` characters different. Only terms of `min_chars` or more: two-character homophones are too
    often real, different words. `readings` (homophone_readings(), stored with the index) spares importing pypinyin
    when it covers every term; otherwise the readings are computed here."""

    def __init__(self, terms: dict[str, str], min_chars: int, max_subs: int, never: Iterable[str] = (),
                 readings: Readings | None = None) -> None:
        self.max_subs = max_subs
        self.never = set(never)  # characters a slip never stands for or replaces (未 ≠ 为: 依法登记 is not 未依法登记)
        self.keys: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        long_terms = [t for t in terms if len(t) >= min_chars]
        stored = readings if readings and all(t in readings.get("terms", {}) for t in long_terms) else None
        table = stored or homophone_readings(long_terms)
        for term in long_terms:
            # the term's reading in context (调解 → tiao jie); a typed slip is keyed by each character's usual reading
            key = tuple(table["terms"][term])
            if len(key) == len(term):
                self.keys.setdefault(key, []).append((term, terms[term]))
        self.lengths = sorted({len(k) for k in self.keys})
        chars = table["chars"]

        @functools.lru_cache(maxsize=8192)
        def reading(ch: str) -> str:
            return chars.get(ch, ch)

        self._reading = reading

    def find(self, text: str) -> Iterator[tuple[int, int, str, str]]:
        """(start, end, term, concept) for every near-match in `text` that is not an exact one."""
        syl = [self._reading(ch) for ch in text]
        for start in range(len(text)):
            for n in self.lengths:
                if start + n > len(text):
                    break
                for term, concept in self.keys.get(tuple(syl[start:start + n]), ()):
                    window = text[start:start + n]
                    diff = [(a, b) for a, b in zip(window, term, strict=False) if a != b]
                    if 0 < len(diff) <= self.max_subs and not any(a in self.never or b in self.never for a, b in diff):
                        yield start, start + n, term, concept


class GapMatcher:
    """Finds lexicon terms written with a few characters inserted (上岗前的培训 for 岗前培训, 公益性的工作岗位 for
    公益性岗位): the term's characters in order, at most `max_gap` extra characters in all, within one clause.
    Only terms of `min_chars` or more: short terms with gaps are other words."""

    def __init__(self, terms: dict[str, str], min_chars: int, max_gap: int, breaks: list[str], negations: set[str],
                 never: Iterable[str] = ()) -> None:
        self.max_gap = max_gap
        self.never = set(never) | set(negations)  # a gap holding a question or denial word says something else
        self.by_first: dict[str, list[tuple[str, str]]] = {}
        for term, concept in terms.items():
            # not terms that start with a negation cue (不写违约责任): 不要写明违约责任 says the opposite
            if len(term) >= min_chars and term[0] not in negations:
                self.by_first.setdefault(term[0], []).append((term, concept))
        # a gap never crosses a clause break, nor an enumeration comma (岗前、技能培训 are two things)
        self.stops = {b for b in breaks if len(b) == 1} | {"、"}

    def find(self, text: str) -> Iterator[tuple[int, int, str, str]]:
        """(start, end, term, concept) for every gapped match that is not an exact one."""
        n = len(text)
        for i, ch in enumerate(text):
            for term, concept in self.by_first.get(ch, ()):
                j, k, gaps = i + 1, 1, 0
                while k < len(term) and j < n and gaps <= self.max_gap:
                    if text[j] == term[k]:
                        k += 1
                    elif text[j] in self.stops or text[j] in self.never:
                        break
                    else:
                        gaps += 1
                    j += 1
                if k == len(term) and 0 < gaps <= self.max_gap:
                    yield i, j, term, concept
