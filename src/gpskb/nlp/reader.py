"""The lexicon reader: a question's Facts — the concepts of policy/lexicon.yaml its words mention, each with its
denial — found by spaCy.

No trained Chinese spaCy pipeline installs offline, so this uses `spacy.blank("zh")` (character segmentation) and a
PhraseMatcher built from the lexicon. Characters are tokens, so a lexicon term matches wherever its characters occur;
the longest match wins where matches overlap. Besides the terms: terms typed with slips (typos), concepts' patterns,
their English words, facts said in parts (`together`), numbers (quantities), and the words talked about rather than
said (topics).
"""
from __future__ import annotations

import functools
import itertools
import re
import sys
import threading
import types
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..knowledge import KnowledgeBase
from ..text import english_term, normalise
from .facts import Facts, Mention
from .negation import Negation
from .pinyin import PinyinReader, Readings, homophone_readings, lexicon_terms, party_names, reading_terms
from .quantities import quantity_mentions
from .shorthand import Shorthand
from .topics import mention_spans, talked_about
from .typos import GapMatcher, HomophoneMatcher, with_terms

_LATIN = re.compile(r"[a-z]")  # normalised text is lower-cased: a question with no Latin letter has no English word

_LATIN_GAP = re.compile(r"[a-z]\s+[a-z]")


def _whole_latin_word(text: str, start: int, end: int) -> bool:
    """Whether a phrase-matcher span (character tokens: spaces are not tokens) is a term as written: a span with Latin
    letters neither starts nor ends inside an English word, nor spans a space between letters."""
    seg = text[start:end]
    if not _LATIN.search(seg):
        return True
    before, after = text[start - 1:start], text[end:end + 1]
    return not (_LATIN.match(before) or _LATIN.match(after) or _LATIN_GAP.search(seg))


#: (concept id, start, end) of words inside one of a concept's exceptions: they do not mention it
Excepted = list[tuple[str, int, int]]


def _import_spacy() -> types.ModuleType:
    """Import spaCy without letting thinc import torch, nor spaCy import its command line.

    thinc (spaCy's ML layer) imports torch whenever it is installed — it is, with the sentence-transformers extra —
    which costs ~0.8 s and ~300 MB although a blank pipeline never touches it. Hiding torch during the import makes
    thinc record "no torch"; torch stays importable afterwards for the sentence-transformers embedder.

    spacy/__init__ imports `spacy.cli.info` only to re-export `spacy.info`, and with it the whole command line (typer,
    requests, weasel, httpx: ~0.15 s of a cold `gpskb ask`). During the import an empty stand-in answers for it; it is
    taken away afterwards, so `import spacy.cli` still loads the real one, and `spacy.info` imports it when called.
    """
    if "torch" in sys.modules or "spacy" in sys.modules:
        import spacy
        return spacy
    stand_ins = {"torch": None, "spacy.cli": types.ModuleType("spacy.cli"), "spacy.cli.info": types.ModuleType("spacy.cli.info")}
    stand_ins["spacy.cli"].__path__ = []  # type: ignore[union-attr]  # a package with nothing in it
    stand_ins["spacy.cli.info"].info = _spacy_info  # type: ignore[union-attr]
    for name, module in stand_ins.items():
        sys.modules.setdefault(name, module)  # type: ignore[arg-type]  # None makes `import torch` raise ImportError
    try:
        import spacy
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name, 0) is module:
                del sys.modules[name]
    if getattr(spacy, "cli", None) is stand_ins["spacy.cli"]:
        delattr(spacy, "cli")
    return spacy


def _spacy_info(*args: Any, **kwargs: Any) -> Any:
    """`spacy.info` as spaCy has it, its command line imported when it is called."""
    from spacy.cli.info import info

    return info(*args, **kwargs)


if TYPE_CHECKING:
    import spacy
else:
    spacy = _import_spacy()
from spacy.matcher import PhraseMatcher  # noqa: E402  (after the guarded import above)
from spacy.tokens import Doc, Span  # noqa: E402
from spacy.util import filter_spans  # noqa: E402


class Reader:
    """Turns questions into Facts using the knowledge base's lexicon and language settings. Thread-safe."""

    def __init__(self, kb: KnowledgeBase, readings: Readings | None = None) -> None:
        self.kb = kb
        self.nlp = spacy.blank("zh")  # character segmentation: no model download, ~50 µs per 100 characters
        self.matcher = PhraseMatcher(self.nlp.vocab)
        self._lock = threading.Lock()
        lang = kb.language
        self.negation = Negation(lang)
        terms = lexicon_terms(kb)
        typo, gap = lang["typo_tolerance"], lang["gap_tolerance"]
        # one pinyin table for the homophone matcher and the pinyin reader: the index's, when it covers every word
        # (reading_terms), else computed here once
        words = reading_terms(kb, terms)
        if not (readings and all(t in readings.get("terms", {}) for t in words)):
            readings = homophone_readings(words)
        self.homophones = HomophoneMatcher(terms, typo["min_term_chars"], typo["max_substitutions"],
                                           typo.get("never_substitute", ()), readings)
        pinyin = lang.get("pinyin") or {}
        self.pinyin = PinyinReader(readings["terms"], pinyin.get("min_syllables", 2), pinyin.get("min_letters", 4),
                                   pinyin.get("never") or ()) if pinyin else None
        self.shorthand = Shorthand(lang.get("english_shorthand") or {})
        # the parties' names typed with the same slips (事业单为 for 事业单位): read by the gazetteer as the names
        self.party_slips = HomophoneMatcher({n: n for n in party_names(kb)}, typo["min_term_chars"], typo["max_substitutions"],
                                            typo.get("never_substitute", ()), readings)
        self.gaps = GapMatcher(terms, gap["min_term_chars"], gap["max_inserted"], lang["clause_breaks"],
                               {c for c in self.negation.cues if len(c) == 1}, set(gap.get("never_inserted") or ()))
        for concept in kb.concepts.values():
            self.matcher.add(concept.id, [self.nlp.make_doc(normalise(t)) for t in concept.terms])
            if concept.exceptions:
                self.matcher.add("except:" + concept.id, [self.nlp.make_doc(normalise(t)) for t in concept.exceptions])
        self.patterned = [c for c in kb.concepts.values() if c.exception_patterns]
        self.pattern_terms = [c for c in kb.concepts.values() if c.patterns]
        self.together = [c for c in kb.concepts.values() if c.together]
        # English: each concept's words on word boundaries, longest first; a denial among the few words before them
        # (a space and a hyphen are the same join: design-and-build is design and build)
        self._english_terms = [(c.id, tuple(c.english)) for c in kb.concepts.values() if c.english]

    @functools.cached_property
    def english(self) -> list[tuple[str, re.Pattern[str]]]:
        """Each concept's English words as one pattern, compiled on first use: a question in Chinese never needs them,
        and they are a third of the reader's start-up time (a cold `gpskb ask`)."""
        return [(cid, re.compile(r"(?<![a-z])(" + "|".join(english_term(t) for t in sorted(terms, key=len, reverse=True))
                                 + r")(?![a-z])")) for cid, terms in self._english_terms]

    def read(self, question: str, given: Collection[str] = (), aspect: str | None = None) -> Facts:
        """Facts of a question (already checked by clean_question); `given` adds concepts from a form or follow-up;
        `aspect` is what the aspect reader says is asked (it lets a bare duration count as the contract term)."""
        text = normalise(question)
        spans, exceptions, canonical = self._matched_spans(self.nlp.make_doc(text), text)
        # the words the asker meant, where a slip was a homophone of a term (same length: offsets hold), for the
        # patterns and the frame's cues below (开处法决定书 is read as 开处罚决定书 by every pattern, not only the term)
        text = with_terms(text, {k: t for k, t in canonical.items() if len(t) == k[1] - k[0]})
        excepted = [(x.label_[len("except:"):], x.start_char, x.end_char) for x in exceptions]
        excepted_concepts = self._excepted_by_patterns(text, excepted)
        mentions = self._term_mentions(text, spans, canonical, excepted, excepted_concepts)
        self._pattern_mentions(text, mentions, excepted)
        self._english_mentions(text, mentions, excepted, excepted_concepts)
        cfg = self.kb.language.get("mentions")
        unsure = mention_spans(cfg or {}, text, "uncertain_patterns")  # (found once: talked_about reads them too)
        self._together_mentions(text, mentions, excepted_concepts, unsure)
        for said in quantity_mentions(self.kb.language.get("quantities") or (), text, aspect, self.negation):
            if not any(x.concept == said.concept and x.start < said.end and said.start < x.end for x in mentions):
                mentions.append(said)
        mentions, topical, topic_spans, defined = talked_about(cfg, self.kb.concepts, self.negation.breaks, text,
                                                               mentions, unsure)
        mentions.sort(key=lambda m: m.start)
        excepted_concepts |= topical | defined
        return Facts(text, mentions, self.given(given), excepted_concepts - {m.concept for m in mentions},
                     tuple(topic_spans), frozenset(defined))

    def _matched_spans(self, doc: Doc, text: str) -> tuple[list[Span], list[Span], dict[tuple[int, int], str]]:
        """The lexicon's terms in the text (spans labelled with their concept), the words of its exceptions (labelled
        "except:" and the concept), and the term each near match stands for — a homophone slip or a gapped term that
        no exact term covers — by its (start, end); the near matches are among the spans."""
        with self._lock:  # spaCy's matcher is not documented as thread-safe
            raw = self.matcher(doc)
        spans: list[Span] = []
        exceptions: list[Span] = []
        for match_id, start, end in raw:
            label = self.nlp.vocab.strings[match_id]
            span = doc[start:end]
            if not _whole_latin_word(text, span.start_char, span.end_char):
                continue  # a Latin term across words or inside one (epc in "the pcs", ppp in "apps")
            span.label_ = label
            (exceptions if label.startswith("except:") else spans).append(span)
        canonical: dict[tuple[int, int], str] = {}
        exact = [(sp.start_char, sp.end_char) for sp in spans]
        for s, e, term, cid in itertools.chain(self.homophones.find(text), self.gaps.find(text)):
            if any(s < xe and xs < e for xs, xe in exact):
                continue  # an exact term already covers these characters
            slip = doc.char_span(s, e, label=cid)
            if slip is not None:
                canonical[(s, e)] = term
                spans.append(slip)
        return spans, exceptions, canonical

    def _excepted_by_patterns(self, text: str, excepted: Excepted) -> set[str]:
        """The concepts an exception pattern says do not hold (处罚决定仍由消防部门作出); the words each pattern
        matches are added to `excepted`."""
        excepted_concepts: set[str] = set()
        for concept in self.patterned:
            for rx in concept.exception_patterns:
                found = [(concept.id, m.start(), m.end()) for m in rx.finditer(text)]
                excepted += found
                if found:  # a structure that says the concept does not hold (处罚决定仍由消防部门作出)
                    excepted_concepts.add(concept.id)
        return excepted_concepts

    def _term_mentions(self, text: str, spans: list[Span], canonical: dict[tuple[int, int], str], excepted: Excepted,
                       excepted_concepts: set[str]) -> list[Mention]:
        """A mention of each term (the longest where terms overlap) not inside one of its concept's exceptions, with
        its denial; a concept whose term lies inside an exception is added to `excepted_concepts`."""
        mentions: list[Mention] = []
        for span in filter_spans(spans):  # longest wins where terms overlap
            s, e = span.start_char, span.end_char
            if any(c == span.label_ and xs <= s and e <= xe for c, xs, xe in excepted):
                excepted_concepts.add(span.label_)
                continue
            cue = self.negation.before(text, s) or self.negation.after(text, e)
            mentions.append(Mention(span.label_, span.text, s, e, cue is not None, cue, canonical.get((s, e))))
        return mentions

    def _pattern_mentions(self, text: str, mentions: list[Mention], excepted: Excepted) -> None:
        """Concepts' patterns (word orders no term list covers), added to `mentions`. They may overlap terms of other
        concepts without hiding them: 向公益二类事业单位购买 is both a provider role and 公益二类事业单位."""
        for concept in self.pattern_terms:
            for rx in concept.patterns:
                for m in rx.finditer(text):
                    s, e = m.start(), m.end()
                    if e <= s or any(x.concept == concept.id and x.start < e and s < x.end for x in mentions):
                        continue
                    if any(c == concept.id and xs <= s and e <= xe for c, xs, xe in excepted):
                        continue
                    # an English pattern (the firm supplies 15 clerks) takes English denials
                    cue = self.negation.cue(text, s, e)
                    mentions.append(Mention(concept.id, m.group(0), s, e, cue is not None, cue))

    def _english_mentions(self, text: str, mentions: list[Mention], excepted: Excepted,
                          excepted_concepts: set[str]) -> None:
        """Concepts' English words, added to `mentions` with an English denial before them (a question with no Latin
        letter has none)."""
        if not _LATIN.search(text):
            return
        for cid, rx in self.english:
            for m in rx.finditer(text):
                if any(x.concept == cid and x.start < m.end() and m.start() < x.end for x in mentions):
                    continue
                if any(c == cid and xs <= m.start() and m.end() <= xe for c, xs, xe in excepted):
                    excepted_concepts.add(cid)
                    continue
                cue = self.negation.english(text, m.start())
                mentions.append(Mention(cid, m.group(0), m.start(), m.end(), cue is not None, cue))

    def _together_mentions(self, text: str, mentions: list[Mention], excepted_concepts: set[str],
                           unsure: list[tuple[int, int]]) -> None:
        """Facts said in parts, in any order (a mass organisation … funded by the budget … on establishment posts),
        added to `mentions`; an attribute said inside an open choice (`unsure`: 到底是财政拨款的，还是自收自支的，还没
        查清) is asked, not said."""
        unsure_kinds = set((self.kb.language.get("mentions") or {}).get("uncertain_kinds") or ())
        for concept in self.together:
            if any(x.concept == concept.id for x in mentions) or concept.id in excepted_concepts:
                continue
            maybe = [next((m for rx in group for m in rx.finditer(text)), None) for group in concept.together]
            parts = [m for m in maybe if m is not None]
            if len(parts) < len(maybe):
                continue
            cue = next((c for c in (self.negation.cue(text, m.start(), m.end()) for m in parts) if c), None)
            asked = concept.kind in unsure_kinds and any(s <= m.start() and m.end() <= e
                                                         for m in parts[1:] for s, e in unsure)
            mentions.append(Mention(concept.id, "…".join(m.group(0) for m in parts), parts[0].start(), parts[0].end(),
                                    cue is not None, cue, questioned=asked))

    def given(self, concepts: Collection[str]) -> set[str]:
        """Concept ids supplied directly (a form, a follow-up choice), checked: an unknown id is an InputError."""
        unknown = set(concepts) - set(self.kb.concepts)
        if unknown:
            raise InputError(f"unknown facts: {', '.join(sorted(map(repr, unknown)))}")
        return set(concepts)

    def party_text(self, norm: str) -> str:
        """`norm` with the parties' names typed with a homophone slip written right (公益二类事业单为 → …事业单位), for the
        gazetteer: one character for one, so positions stay those of the question."""
        chars = list(norm)
        for start, end, name, _ in self.party_slips.find(norm):
            chars[start:end] = name
        return "".join(chars)

    def denies(self, text: str, start: int, end: int) -> bool:
        """Whether a negation cue before or after the words at [start, end) of normalised text denies them (English
        words: an English denial before them in the same clause)."""
        return self.negation.denies(text, start, end)
