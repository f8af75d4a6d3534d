"""Informal English spellings (thru, govt, temps) read as the words they stand for, before anything else reads the
question (language.yaml `english_shorthand`): the lexicon, the parties and the readers see one spelling."""
from __future__ import annotations

import re
from collections.abc import Mapping


class Shorthand:
    """Whole-word replacement of informal spellings, case-insensitive; a text with none is returned unchanged."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = {k.lower(): v for k, v in table.items()}
        words = sorted(self.table, key=len, reverse=True)
        # (a whole word: not inside another, nor a letter of an initialism such as u.s.)
        alternatives = "|".join(re.escape(w) for w in words)
        self._rx = re.compile(rf"(?<![A-Za-z0-9'’/])({alternatives})(?![A-Za-z0-9'’/]|\.[A-Za-z])",
                              re.IGNORECASE) if words else None

    def convert(self, text: str) -> str:
        if self._rx is None:
            return text
        return self._rx.sub(lambda m: self.table[m.group(0).lower()], text)
