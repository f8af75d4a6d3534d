"""Pinyin: the readings of the knowledge base's words (computed with pypinyin once and stored with the index), and the
reader of Chinese words typed in pinyin inside an English question."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import TypedDict

from ..knowledge import KnowledgeBase
from ..text import has_chinese, normalise


def _reading(ch: str) -> str:
    """A character's most common toneless pinyin reading (the character itself when it has none)."""
    from pypinyin.pinyin_dict import pinyin_dict  # imported when first needed: ~0.2 s, and a stored table spares it

    raw = pinyin_dict.get(ord(ch))
    if not raw:
        return ch
    first = raw.split(",", 1)[0]
    return "".join(c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c))


def lexicon_terms(kb: KnowledgeBase) -> dict[str, str]:
    """Every lexicon term as the reader matches it (normalised) → its concept id."""
    return {normalise(t): c.id for c in kb.concepts.values() for t in c.terms}


def party_names(kb: KnowledgeBase) -> set[str]:
    """Every party type's name (policy/parties.yaml), normalised as the gazetteer reads it."""
    return {normalise(n) for t in kb.parties.types for n in t.names}


def reading_terms(kb: KnowledgeBase, terms: Iterable[str] | None = None) -> set[str]:
    """The words whose pinyin the index stores (index.READINGS_FILE): the lexicon's terms (homophone slips; `terms`,
    when the caller has them), and with them the parties' names and language.yaml `pinyin.words` (Chinese words typed
    in pinyin in an English question)."""
    words = set(lexicon_terms(kb) if terms is None else terms) | party_names(kb)
    return words | {normalise(w) for w in (kb.language.get("pinyin") or {}).get("words") or ()}


class Readings(TypedDict):
    """The pinyin a HomophoneMatcher and a PinyinReader need (homophone_readings(), stored as index.READINGS_FILE)."""

    terms: dict[str, list[str]]  # each term's syllables, read in context
    chars: dict[str, str]  # a character's usual reading, for every character whose reading is a syllable of a term


def homophone_readings(terms: Iterable[str]) -> Readings:
    """The pinyin a HomophoneMatcher needs, computed with pypinyin once (`gpskb index build` stores it in the index,
    index.READINGS_FILE): each term's reading in context (调解 → tiao jie), and each character's usual reading for every
    character whose reading is a syllable of some term (any other character can never be part of a slip)."""
    from pypinyin import Style, lazy_pinyin
    from pypinyin.pinyin_dict import pinyin_dict

    # errors=list keeps a character without pinyin as itself; pypinyin's stubs allow only a callable returning str
    keys = {t: lazy_pinyin(t, style=Style.NORMAL, errors=list) for t in sorted(set(terms))}  # type: ignore[arg-type]
    syllables = {s for k in keys.values() for s in k}
    chars: dict[str, str] = {}
    for code in pinyin_dict:
        ch = chr(code)
        reading = _reading(ch)
        if reading in syllables:
            chars[ch] = reading
    return Readings(terms=keys, chars=chars)


class PinyinReader:
    """Chinese words typed in pinyin inside an English question (a gongyi yilei shiye danwei funded by caizheng; the
    cunweihui as provider) read as the words themselves: toneless syllables, spaced, joined or hyphenated, of a word
    the knowledge base knows (a lexicon term, a party's name, language.yaml `pinyin.words`) of at least
    `min_syllables` syllables and `min_letters` letters. The longest run of words wins; English words that happen to
    spell a word's pinyin are listed in `pinyin.never`."""

    _WORD = re.compile(r"[A-Za-z]+")  # ASCII letters only: lower() never changes a match's length

    def __init__(self, table: dict[str, list[str]], min_syllables: int = 2, min_letters: int = 4,
                 never: Iterable[str] = ()) -> None:
        never = {w.lower() for w in never}
        self.keys: dict[str, str] = {}
        for term, syllables in sorted(table.items()):
            if (len(syllables) == len(term) >= min_syllables and has_chinese(term)
                    and all(s.isascii() and s.isalpha() for s in syllables)):
                key = "".join(syllables)
                if len(key) >= min_letters and key not in never:
                    self.keys.setdefault(key, term)
        self.max_words = max((len(t) for t in self.keys.values()), default=0)  # a word per syllable at most

    _QUOTES = {"'": "'", '"': '"', "‘": "’", "“": "”", "「": "」", "『": "』", "《": "》"}

    @classmethod
    def _quoted(cls, text: str, start: int, end: int) -> bool:
        """Whether text[start:end] is the whole of a quotation."""
        before, after = text[start - 1:start], text[end:end + 1]
        return bool(before) and cls._QUOTES.get(before) == after

    def convert(self, text: str) -> str:
        """`text` with each pinyin run replaced by its Chinese word (case-insensitive; other text unchanged)."""
        words = list(self._WORD.finditer(text)) if self.keys else []
        if not words:
            return text
        out, last, i = [], 0, 0
        while i < len(words):
            found = None
            for j in range(min(len(words), i + self.max_words), i, -1):
                joins = [text[words[k].end():words[k + 1].start()] for k in range(i, j - 1)]
                if any(g not in (" ", "-") for g in joins):
                    continue  # a run is words joined by one space or a hyphen, nothing else
                term = self.keys.get("".join(w.group(0).lower() for w in words[i:j]))
                if term:
                    found = (j, term)
                    break
            if found is not None and self._quoted(text, words[i].start(), words[found[0] - 1].end()):
                i = found[0]  # the words themselves quoted ('zhengfu goumai fuwu' in French?): words asked about
                continue
            if found is None:
                i += 1
                continue
            j, term = found
            out += [text[last:words[i].start()], term]
            last, i = words[j - 1].end(), j
        return "".join(out) + text[last:] if out else text
