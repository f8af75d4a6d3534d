"""Negation: whether the words of a question are denied — a cue before them in the same clause (不是, 非, 没有), one
after them (跟…没关系), or an English denial (not, without) — with question forms (是不是, 能不能) and bounds (不超过)
masked first, so that they are not read as denials. The cues and windows are policy/language.yaml's."""
from __future__ import annotations

import re
import threading

from ..jsontypes import JSON
from ..text import has_chinese, normalise


class Negation:
    """language.yaml's negation rules, compiled once. Thread-safe (the masked text is cached per thread)."""

    def __init__(self, lang: JSON) -> None:
        self._local = threading.local()
        self.cues = sorted({normalise(c) for c in lang["negation_cues"]}, key=len, reverse=True)
        self.window = lang["negation_window"]
        self.copulas = {normalise(c) for c in lang.get("negation_copulas") or ()}
        self.after_cues = [normalise(c) for c in lang["negation_after_cues"]]
        self.after_window = lang["negation_after_window"]
        self.breaks = [normalise(b) or b for b in lang["clause_breaks"]]
        # 是不是 / 有没有 / 能不能 contain a cue but ask a question: masked before looking for cues
        self.question_forms = sorted({normalise(q) for q in lang["question_forms"]}, key=len, reverse=True)
        # a bound only before a number (不到一年 is "under a year"; 他不到局里上班 denies coming in)
        bounds = sorted({normalise(b) for b in lang.get("bounds") or ()}, key=len, reverse=True)
        self.bounds = re.compile("(" + "|".join(map(re.escape, bounds)) + r")(?=[约近]?[\d一二两三四五六七八九十百千半几])"
                                 ) if bounds else None
        self.english_negation = re.compile(lang["english_negation"]) if lang.get("english_negation") else None
        starts = lang.get("english_clause_start")
        self.english_clause_start = re.compile(starts) if starts else None
        rhetorical = lang.get("english_rhetorical")
        self.english_rhetorical = re.compile(rhetorical) if rhetorical else None

    def cue(self, text: str, start: int, end: int) -> str | None:
        """The denial of the words at [start, end), if any (English words: an English denial before them)."""
        if not has_chinese(text[start:end]):
            return self.english(text, start)
        return self.before(text, start) or self.after(text, end)

    def denies(self, text: str, start: int, end: int) -> bool:
        """Whether a negation cue before or after the words at [start, end) of normalised text denies them (English
        words: an English denial before them in the same clause)."""
        return self.cue(text, start, end) is not None

    def english(self, text: str, start: int) -> str | None:
        """An English denial ("not", "without", "no") in the same clause, a few words before a mention."""
        if self.english_negation is None:
            return None
        clause_start = max([text.rfind(b, 0, start) + len(b) for b in self.breaks if text.rfind(b, 0, start) >= 0]
                           + [0])
        if self.english_clause_start is not None:  # language.yaml: "and" before a new subject starts a clause
            clause_start = max([m.end() for m in self.english_clause_start.finditer(text) if m.end() <= start]
                               + [clause_start])
        window = max(clause_start, start - 40)
        for m in self.english_negation.finditer(text, window, start):
            if not self._rhetorical(text, m.start(), start):
                return m.group(0)
        return None

    def _rhetorical(self, text: str, at: int, mention: int) -> bool:
        """Whether the denial at `at` opens a question that reaches past the mention (Isn't our water company entitled to
        buy as well?): the question asks, the word denies nothing."""
        if self.english_rhetorical is None:
            return False
        m = self.english_rhetorical.match(text, at)
        return m is not None and m.end() > mention

    def _clause_end(self, text: str, end: int) -> int:
        stop = len(text)
        for b in self.breaks:
            i = text.find(b, end)
            if i >= 0:
                stop = min(stop, i)
        return stop

    def after(self, text: str, end: int) -> str | None:
        """A denial that follows the term in the same clause: 跟劳务派遣没关系, 与派遣无关."""
        after = text[end:self._clause_end(text, end)]
        for cue in self.after_cues:
            i = after.find(cue)
            if 0 <= i <= self.after_window:
                return cue
        return None

    def mask(self, text: str) -> str:
        """The text with question forms (是不是, 能不能 …) and bounds (不超过 …) blanked out, same length."""
        cached: tuple[str, str] | None = getattr(self._local, "masked", None)
        if cached and cached[0] == text:
            return cached[1]
        masked = text
        for form in self.question_forms:
            masked = masked.replace(form, "\u25a1" * len(form))
        if self.bounds is not None:
            masked = self.bounds.sub(lambda m: "\u25a1" * len(m.group(0)), masked)
        self._local.masked = (text, masked)
        return masked

    def before(self, text: str, start: int) -> str | None:
        """The negation cue governing a mention starting at `start`, if any (same clause, within the window)."""
        clause_start = 0
        for b in self.breaks:
            i = text.rfind(b, 0, start)
            if i >= 0:
                clause_start = max(clause_start, i + len(b))
        # question forms are masked in the whole text first: 能承接 inside 能不能承接 must not see 不 as a denial
        before = self.mask(text)[clause_start:start]
        for cue in self.cues:
            i = before.rfind(cue)
            if i >= 0 and len(before) - (i + len(cue)) <= self.window:
                # single-character cues (非, 没) only count right before the term: 非营利组织 is not a denial
                if len(cue) == 1 and i + 1 != len(before):
                    continue
                # a denial inside a relative clause (不搞经营的那种一类事业单位) leaves the noun it describes alone
                if cue not in self.copulas and "的" in before[i + len(cue):]:
                    continue
                return cue
        return None
