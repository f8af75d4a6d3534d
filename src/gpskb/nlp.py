"""Reading a question: normalisation and fact extraction (concept mentions, with negation) using spaCy.

No trained Chinese spaCy pipeline installs offline, so this uses `spacy.blank("zh")` (character segmentation) and a
PhraseMatcher built from policy/lexicon.yaml. Characters are tokens, so a lexicon term matches wherever its characters
occur; the longest match wins where matches overlap.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field

import spacy
from opencc import OpenCC
from spacy.matcher import PhraseMatcher
from spacy.util import filter_spans

from .errors import InputError
from .policy import KnowledgeBase

_T2S = OpenCC("t2s")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_WS = re.compile(r"\s+")
_HAS_WORD = re.compile(r"[\w]", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def normalise(text: str) -> str:
    """The form every matcher and ranker sees: Simplified characters, NFKC-folded widths, lower case, one space.

    Length is preserved character for character except where NFKC expands a compatibility character, so positions
    reported on the normalised text point at the same words the user typed.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    text = _WS.sub(" ", text).strip()
    return _T2S.convert(text).lower()


def clean_question(question, max_chars: int) -> str:
    """Check a raw question and return it ready to normalise, or raise InputError saying what is wrong with it."""
    if isinstance(question, bytes):
        try:
            question = question.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("问题不是有效的 UTF-8 文本 / the question is not valid UTF-8 text") from None
    if not isinstance(question, str):
        raise InputError("问题必须是文本 / the question must be text")
    if "\ufffd" in question or "\x00" in question:
        raise InputError("问题含有无法识别的字符（可能是二进制内容） / the question contains binary or undecodable data")
    stripped = question.strip()
    if not stripped:
        raise InputError("问题为空，请输入要咨询的事项 / the question is empty")
    if len(stripped) > max_chars:
        raise InputError(f"问题过长（{len(stripped)} 字，上限 {max_chars} 字），请只写要咨询的事项 / "
                         f"the question is too long ({len(stripped)} characters, limit {max_chars})")
    if not _HAS_WORD.search(_CONTROL.sub("", stripped)):
        raise InputError("问题只有标点或符号，没有文字 / the question has no words, only punctuation or symbols")
    return stripped


def has_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


@dataclass(frozen=True)
class Mention:
    """One lexicon term found in the normalised question."""

    concept: str
    term: str
    start: int
    end: int
    negated: bool = False
    cue: str | None = None


@dataclass
class Facts:
    """What a question says, as concepts: those asserted, those explicitly denied, and every mention found."""

    text: str
    mentions: list[Mention] = field(default_factory=list)
    given: set = field(default_factory=set)  # concepts supplied directly (a form, a follow-up answer)

    @property
    def concepts(self) -> set:
        """Concepts asserted by the question or given directly (negated mentions do not count)."""
        return {m.concept for m in self.mentions if not m.negated} | set(self.given)

    @property
    def negated(self) -> set:
        return {m.concept for m in self.mentions if m.negated} - self.concepts

    def words(self, concept: str) -> list[str]:
        """The words of the question that asserted a concept (in order, without repeats)."""
        out = []
        for m in self.mentions:
            if m.concept == concept and not m.negated and m.term not in out:
                out.append(m.term)
        return out


class Reader:
    """Turns questions into Facts using the knowledge base's lexicon and language settings. Thread-safe."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.nlp = spacy.blank("zh")  # character segmentation: no model download, ~50 µs per 100 characters
        self.matcher = PhraseMatcher(self.nlp.vocab)
        self._lock = threading.Lock()
        for concept in kb.concepts.values():
            self.matcher.add(concept.id, [self.nlp.make_doc(normalise(t)) for t in concept.terms])
            if concept.exceptions:
                self.matcher.add("except:" + concept.id, [self.nlp.make_doc(normalise(t)) for t in concept.exceptions])
        lang = kb.language
        self.cues = sorted({normalise(c) for c in lang["negation_cues"]}, key=len, reverse=True)
        self.window = lang["negation_window"]
        self.breaks = [normalise(b) or b for b in lang["clause_breaks"]]
        # 是不是 / 有没有 / 能不能 contain a cue but ask a question: masked before looking for cues
        self.question_forms = sorted({normalise(q) for q in lang["question_forms"]}, key=len, reverse=True)

    def read(self, question: str, given=()) -> Facts:
        """Facts of a question (already checked by clean_question); `given` adds concepts from a form or follow-up."""
        text = normalise(question)
        doc = self.nlp.make_doc(text)
        with self._lock:  # spaCy's matcher is not documented as thread-safe
            raw = self.matcher(doc)
        spans, exceptions = [], []
        for match_id, start, end in raw:
            label = self.nlp.vocab.strings[match_id]
            span = doc[start:end]
            span.label_ = label
            (exceptions if label.startswith("except:") else spans).append(span)
        mentions = []
        for span in filter_spans(spans):  # longest wins where terms overlap
            s, e = span.start_char, span.end_char
            if any(x.label_ == "except:" + span.label_ and x.start_char <= s and e <= x.end_char for x in exceptions):
                continue
            cue = self._negation(text, s)
            mentions.append(Mention(span.label_, span.text, s, e, cue is not None, cue))
        unknown = set(given) - set(self.kb.concepts)
        if unknown:
            raise InputError(f"unknown facts: {', '.join(sorted(unknown))}")
        return Facts(text, mentions, set(given))

    def _negation(self, text: str, start: int) -> str | None:
        """The negation cue governing a mention starting at `start`, if any (same clause, within the window)."""
        clause_start = 0
        for b in self.breaks:
            i = text.rfind(b, 0, start)
            if i >= 0:
                clause_start = max(clause_start, i + len(b))
        before = text[clause_start:start]
        for form in self.question_forms:
            before = before.replace(form, "\u25a1" * len(form))
        for cue in self.cues:
            i = before.rfind(cue)
            if i >= 0 and len(before) - (i + len(cue)) <= self.window:
                # single-character cues (非, 没) only count right before the term: 非营利组织 is not a denial
                if len(cue) == 1 and i + 1 != len(before):
                    continue
                return cue
        return None
