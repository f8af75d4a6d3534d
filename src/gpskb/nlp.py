"""Reading a question: normalisation and fact extraction (concept mentions, with negation) using spaCy.

No trained Chinese spaCy pipeline installs offline, so this uses `spacy.blank("zh")` (character segmentation) and a
PhraseMatcher built from policy/lexicon.yaml. Characters are tokens, so a lexicon term matches wherever its characters
occur; the longest match wins where matches overlap.
"""
from __future__ import annotations

import dataclasses
import datetime
import functools
import itertools
import re
import sys
import threading
import types
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict

from .errors import InputError
from .jsontypes import JSON
from .policy import KnowledgeBase, chinese_number
from .text import _CONTROL, _HAS_WORD, english_term, find_all, has_chinese, normalise  # noqa: F401  (has_chinese, normalise: re-exported)

_LATIN = re.compile(r"[a-z]")  # normalised text is lower-cased: a question with no Latin letter has no English word


def _import_spacy() -> types.ModuleType:
    """Import spaCy without letting thinc import torch.

    thinc (spaCy's ML layer) imports torch whenever it is installed — it is, with the sentence-transformers extra —
    which costs ~0.8 s and ~300 MB although a blank pipeline never touches it. Hiding torch during the import makes
    thinc record "no torch"; torch stays importable afterwards for the sentence-transformers embedder.
    """
    if "torch" in sys.modules or "spacy" in sys.modules:
        import spacy
        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        import spacy
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy


if TYPE_CHECKING:
    import spacy
else:
    spacy = _import_spacy()
from spacy.matcher import PhraseMatcher  # noqa: E402  (after the guarded import above)
from spacy.tokens import Span  # noqa: E402
from spacy.util import filter_spans  # noqa: E402


def clean_question(question: object, max_chars: int) -> str:
    """Check a raw question and return it ready to normalise, or raise InputError saying what is wrong with it."""
    if isinstance(question, bytes):
        try:
            question = question.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("问题不是有效的 UTF-8 文本 / the question is not valid UTF-8 text") from None
    if not isinstance(question, str):
        raise InputError("问题必须是文本 / the question must be text")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (from a JSON "\ud800" escape)
        raise InputError("问题含有无效的 Unicode 字符 / the question contains invalid Unicode (lone surrogates)") \
            from None
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


_ENGLISH_NUMBERS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}


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


@dataclass(frozen=True)
class Mention:
    """One lexicon term found in the normalised question (`term` as the user wrote it; `canonical` the lexicon term
    when it was matched despite a homophone typo)."""

    concept: str
    term: str
    start: int
    end: int
    negated: bool = False
    cue: str | None = None
    canonical: str | None = None
    questioned: bool = False  # the question asks whether the word applies, or quotes it (这算不算派遣用工？)
    background: bool = False  # told as what happened or is going on (办公楼也在装修), not what is bought: questioned too


def _range_concept(quantity: JSON, years: float) -> str | None:
    """The concept of the language.yaml quantity range (above < value <= upto) the value falls into."""
    return next((r["concept"] for r in quantity["ranges"] if r["above"] < years <= r["upto"]), None)


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


def reading_terms(kb: KnowledgeBase, terms: Iterable[str] | None = None) -> set[str]:
    """The words whose pinyin the index stores (index.READINGS_FILE): the lexicon's terms (homophone slips; `terms`,
    when the caller has them), and with them the parties' names and language.yaml `pinyin.words` (Chinese words typed
    in pinyin in an English question)."""
    words = set(lexicon_terms(kb) if terms is None else terms) | {normalise(n) for t in kb.parties.types for n in t.names}
    return words | {normalise(w) for w in (kb.language.get("pinyin") or {}).get("words") or ()}


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


def _with_terms(text: str, slips: dict[tuple[int, int], str]) -> str:
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


@dataclass
class Facts:
    """What a question says, as concepts: those asserted, those explicitly denied, and every mention found."""

    text: str
    mentions: list[Mention] = field(default_factory=list)
    given: set[str] = field(default_factory=set)  # concepts supplied directly (a form, a follow-up answer)
    excepted: set[str] = field(default_factory=set)  # concepts whose terms occur only inside their exceptions (聘请律师)
    # where the question talks about something as the subject of what is bought (disputes of dispatched workers)
    topic_spans: tuple[tuple[int, int], ...] = ()
    # concepts whose words the question asks the meaning of (什么叫「融资行为」?): a question on the texts
    defined: frozenset[str] = frozenset()

    @property
    def concepts(self) -> set[str]:
        """Concepts asserted by the question or given directly (negated mentions do not count)."""
        return {m.concept for m in self.mentions if not m.negated and not m.questioned} | set(self.given)

    @property
    def negated(self) -> set[str]:
        return {m.concept for m in self.mentions if m.negated and not m.questioned} - self.concepts  # 是不是不在…？ asks

    @property
    def questioned(self) -> set[str]:
        """Concepts the question only asks about or quotes (这就不属于劳务派遣了吧？): neither asserted nor denied."""
        return {m.concept for m in self.mentions if m.questioned and not m.negated} - self.concepts

    def words(self, concept: str) -> list[str]:
        """The words of the question that asserted a concept (in order, without repeats)."""
        out: list[str] = []
        for m in self.mentions:
            if m.concept == concept and not m.negated and m.term not in out:
                out.append(m.term)
        return out


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


class Reader:
    """Turns questions into Facts using the knowledge base's lexicon and language settings. Thread-safe."""

    def __init__(self, kb: KnowledgeBase, readings: Readings | None = None) -> None:
        self.kb = kb
        self.nlp = spacy.blank("zh")  # character segmentation: no model download, ~50 µs per 100 characters
        self.matcher = PhraseMatcher(self.nlp.vocab)
        self._lock = threading.Lock()
        self._local = threading.local()
        lang = kb.language
        self.cues = sorted({normalise(c) for c in lang["negation_cues"]}, key=len, reverse=True)
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
        self.gaps = GapMatcher(terms, gap["min_term_chars"], gap["max_inserted"], lang["clause_breaks"],
                               {c for c in self.cues if len(c) == 1}, set(gap.get("never_inserted") or ()))
        for concept in kb.concepts.values():
            self.matcher.add(concept.id, [self.nlp.make_doc(normalise(t)) for t in concept.terms])
            if concept.exceptions:
                self.matcher.add("except:" + concept.id, [self.nlp.make_doc(normalise(t)) for t in concept.exceptions])
        self.window = lang["negation_window"]
        self.copulas = {normalise(c) for c in lang.get("negation_copulas") or ()}
        self.after_cues = [normalise(c) for c in lang["negation_after_cues"]]
        self.after_window = lang["negation_after_window"]
        self.patterned = [c for c in kb.concepts.values() if c.exception_patterns]
        self.pattern_terms = [c for c in kb.concepts.values() if c.patterns]
        self.together = [c for c in kb.concepts.values() if c.together]
        self.breaks = [normalise(b) or b for b in lang["clause_breaks"]]
        # 是不是 / 有没有 / 能不能 contain a cue but ask a question: masked before looking for cues
        self.question_forms = sorted({normalise(q) for q in lang["question_forms"]}, key=len, reverse=True)
        # a bound only before a number (不到一年 is "under a year"; 他不到局里上班 denies coming in)
        bounds = sorted({normalise(b) for b in lang.get("bounds") or ()}, key=len, reverse=True)
        self.bounds = re.compile("(" + "|".join(map(re.escape, bounds)) + r")(?=[约近]?[\d一二两三四五六七八九十百千半几])"
                                 ) if bounds else None
        # English: each concept's words on word boundaries, longest first; a denial among the few words before them
        # (a space and a hyphen are the same join: design-and-build is design and build)
        self._english_terms = [(c.id, tuple(c.english)) for c in kb.concepts.values() if c.english]
        self.english_negation = re.compile(lang["english_negation"]) if lang.get("english_negation") else None
        starts = lang.get("english_clause_start")
        self.english_clause_start = re.compile(starts) if starts else None

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
        doc = self.nlp.make_doc(text)
        with self._lock:  # spaCy's matcher is not documented as thread-safe
            raw = self.matcher(doc)
        spans: list[Span] = []
        exceptions: list[Span] = []
        for match_id, start, end in raw:
            label = self.nlp.vocab.strings[match_id]
            span = doc[start:end]
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
        # the words the asker meant, where a slip was a homophone of a term (same length: offsets hold), for the
        # patterns and the frame's cues below (开处法决定书 is read as 开处罚决定书 by every pattern, not only the term)
        text = _with_terms(text, {k: t for k, t in canonical.items() if len(t) == k[1] - k[0]})
        excepted = [(x.label_[len("except:"):], x.start_char, x.end_char) for x in exceptions]
        excepted_concepts = set()
        for concept in self.patterned:
            for rx in concept.exception_patterns:
                found = [(concept.id, m.start(), m.end()) for m in rx.finditer(text)]
                excepted += found
                if found:  # a structure that says the concept does not hold (处罚决定仍由消防部门作出)
                    excepted_concepts.add(concept.id)
        mentions = []
        for span in filter_spans(spans):  # longest wins where terms overlap
            s, e = span.start_char, span.end_char
            if any(c == span.label_ and xs <= s and e <= xe for c, xs, xe in excepted):
                excepted_concepts.add(span.label_)
                continue
            cue = self._negation(text, s) or self._negation_after(text, e)
            mentions.append(Mention(span.label_, span.text, s, e, cue is not None, cue, canonical.get((s, e))))
        # pattern mentions (word orders no term list covers) may overlap terms of other concepts without hiding
        # them: 向公益二类事业单位购买 is both a provider role and 公益二类事业单位
        for concept in self.pattern_terms:
            for rx in concept.patterns:
                for m in rx.finditer(text):
                    s, e = m.start(), m.end()
                    if e <= s or any(x.concept == concept.id and x.start < e and s < x.end for x in mentions):
                        continue
                    if any(c == concept.id and xs <= s and e <= xe for c, xs, xe in excepted):
                        continue
                    cue = self._cue(text, s, e)  # an English pattern (the firm supplies 15 clerks): English denials
                    mentions.append(Mention(concept.id, m.group(0), s, e, cue is not None, cue))
        for cid, rx in self.english if _LATIN.search(text) else ():
            for m in rx.finditer(text):
                if any(x.concept == cid and x.start < m.end() and m.start() < x.end for x in mentions):
                    continue
                if any(c == cid and xs <= m.start() and m.end() <= xe for c, xs, xe in excepted):
                    excepted_concepts.add(cid)
                    continue
                cue = self._english_negation(text, m.start())
                mentions.append(Mention(cid, m.group(0), m.start(), m.end(), cue is not None, cue))
        # facts said in parts, in any order (a mass organisation … funded by the budget … on establishment posts); an
        # attribute said inside an open choice (到底是财政拨款的，还是自收自支的，还没查清) is asked, not said
        unsure = self._spans(text, "uncertain_patterns")  # (found once: _talked_about reads them too)
        unsure_kinds = set((self.kb.language.get("mentions") or {}).get("uncertain_kinds") or ())
        for concept in self.together:
            if any(x.concept == concept.id for x in mentions) or concept.id in excepted_concepts:
                continue
            maybe = [next((m for rx in group for m in rx.finditer(text)), None) for group in concept.together]
            parts = [m for m in maybe if m is not None]
            if len(parts) < len(maybe):
                continue
            cue = next((c for c in (self._cue(text, m.start(), m.end()) for m in parts) if c), None)
            asked = concept.kind in unsure_kinds and any(s <= m.start() and m.end() <= e
                                                         for m in parts[1:] for s, e in unsure)
            mentions.append(Mention(concept.id, "…".join(m.group(0) for m in parts), parts[0].start(), parts[0].end(),
                                    cue is not None, cue, questioned=asked))
        for said in self._quantities(text, aspect):
            if not any(x.concept == said.concept and x.start < said.end and said.start < x.end for x in mentions):
                mentions.append(said)
        mentions, topical, topic_spans, defined = self._talked_about(text, mentions, unsure)
        mentions.sort(key=lambda m: m.start)
        excepted_concepts |= topical | defined
        return Facts(text, mentions, self.given(given), excepted_concepts - {m.concept for m in mentions},
                     tuple(topic_spans), frozenset(defined))

    def _background_clauses(self, text: str, cfg: JSON) -> list[tuple[int, int]]:
        """Clauses that tell what happened or is going on and name no purchase (language.yaml mentions
        `background_clause`, `purchase_words`): their goods and works words are background."""
        rx, buy = cfg.get("compiled_background_clause"), cfg.get("compiled_purchase_words")
        if rx is None or buy is None:
            return []
        spans, start = [], 0
        cuts = sorted({i + len(b) for b in self.breaks for i in find_all(text, b)} | {len(text)})
        for end in cuts:
            clause = text[start:end]
            if rx.search(clause) and not buy.search(clause):
                spans.append((start, end))
            start = end
        return spans

    def _spans(self, text: str, key: str) -> list[tuple[int, int]]:
        """Where the language.yaml `mentions` patterns of `key` match the text."""
        cfg = self.kb.language.get("mentions") or {}
        return [(m.start(), m.end()) for rx in cfg.get("compiled_" + key) or () for m in rx.finditer(text)]

    def _talked_about(self, text: str, mentions: list[Mention],
                      unsure: list[tuple[int, int]]) -> tuple[list[Mention], set[str], list[tuple[int, int]], set[str]]:
        """language.yaml `mentions`: words of the listed kinds that are the topic of something else (关于劳务派遣的
        普法宣传) or whose meaning is asked (什么叫「融资行为」?) are dropped — their concepts count as excepted — and
        words the question asks about or quotes (这算不算派遣用工？), background goods/works words and per-head words
        the provider's own management answers are marked `questioned`. Returns the mentions kept, the concepts dropped
        as topics, the topic spans and the concepts whose meaning is asked."""
        cfg = self.kb.language.get("mentions")
        if not cfg:
            return mentions, set(), [], set()
        kinds, unsure_kinds = set(cfg["kinds"]), set(cfg.get("uncertain_kinds") or ())
        unsure_said = set(cfg.get("uncertain_said") or ())  # concepts that are the not-knowing itself (catalogue_unknown)
        background_kinds = set(cfg.get("background_kinds") or ())
        countered = cfg.get("countered") or {}
        countered_concepts = set(countered.get("concepts") or ())
        spans = {key: self._spans(text, key)
                 for key in ("topic_patterns", "concern_patterns", "step_patterns", "definition_patterns",
                             "analogy_patterns")}
        spans["uncertain_patterns"] = unsure
        step_concepts = set(cfg.get("step_concepts") or ())
        spans["background"] = self._background_clauses(text, cfg)

        def inside(m: Mention, key: str) -> bool:
            return any(s <= m.start and m.end <= e for s, e in spans[key])

        counter = (any(not x.negated and x.concept in set(countered.get("by") or ()) for x in mentions)
                   and not any(rx.search(text) for rx in countered.get("compiled_unless") or ()))
        analogy_kinds = set(cfg.get("analogy_kinds") or ())
        kept: list[Mention] = []
        topical: set[str] = set()
        defined: set[str] = set()
        for m in mentions:
            kind = self.kb.concepts[m.concept].kind
            if kind in analogy_kinds and inside(m, "analogy_patterns"):
                topical.add(m.concept)  # the model to copy, not what is bought: asserts nothing
                continue
            if kind in kinds and inside(m, "definition_patterns"):
                defined.add(m.concept)  # its meaning is asked: asserts nothing
                continue
            if kind in kinds and inside(m, "topic_patterns"):
                topical.add(m.concept)  # the subject matter of what is bought: asserts nothing
                continue
            background = kind in background_kinds and inside(m, "background")
            asked = ((counter and m.concept in countered_concepts and not m.negated)
                     or background
                     or (kind in unsure_kinds and inside(m, "uncertain_patterns") and m.concept not in unsure_said)
                     or (kind in kinds and inside(m, "concern_patterns"))
                     or (m.concept in step_concepts and inside(m, "step_patterns")))
            kept.append(dataclasses.replace(m, questioned=True, background=background) if asked else m)
        return kept, topical, spans["topic_patterns"], defined

    def given(self, concepts: Collection[str]) -> set[str]:
        """Concept ids supplied directly (a form, a follow-up choice), checked: an unknown id is an InputError."""
        unknown = set(concepts) - set(self.kb.concepts)
        if unknown:
            raise InputError(f"unknown facts: {', '.join(sorted(map(repr, unknown)))}")
        return set(concepts)

    def _quantities(self, text: str, aspect: str | None = None) -> list[Mention]:
        """Concepts set by numbers in the question (签五年 → contract_term_over_3y), per language.yaml quantities:
        the value of a match, a term given by its dates (`date_ranges`), and — with `renewals` — the first term read
        times one plus the renewals, or plus a renewal's length, as the whole term. When the question asks about
        the quantity's aspect (`when_asked`: the aspect reader says it asks about the contract term), a bare
        duration (a five-year deal, 搞个五年的) is read as the term too."""
        out = []
        for q in self.kb.language.get("quantities") or ():
            history = [(x.start(), x.end()) for rx in q["compiled_exceptions"] for x in rx.finditer(text)]
            seen: set[tuple[int, int]] = set()
            first = None
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
                        inner = self._mask(text)[m.start():m.start("n")]
                        cue = self._negation(text, m.start()) or next((c for c in self.cues if c in inner), None)
                        out.append(Mention(concept, m.group(0), m.start(), m.end(), cue is not None, cue))
            for rx in q.get("compiled_date_ranges") or ():  # from a month of one year to a month of a later one
                for m in rx.finditer(text):
                    if any(x.start <= m.start() < x.end for x in out):
                        continue
                    # a year with no month runs to its end (2025年到2027年 is three years); a start said relative to
                    # now, or not said, is this month (签到2030年)
                    relative = not (m.group("y1") or "").isdigit()
                    start = self._month(q, m, "m1", datetime.date.today().month if relative else 1)
                    years = self._year(q, m, "y2") - self._year(q, m, "y1") + (self._month(q, m, "m2", 13) - start) / 12
                    concept = _range_concept(q, years) if years > 0 else None
                    if concept:
                        out.append(Mention(concept, m.group(0), m.start(), m.end()))
            if first is None:
                continue
            for rx in q["compiled_renewals"]:
                for m in rx.finditer(text):
                    k = _number(m.group("k")) or (q.get("count_words") or {}).get(m.group("k"))
                    if not k or self._negation(text, m.start()) or (first[0] < m.end() and m.start() < first[2]):
                        continue  # denied, or the first term itself (续签一年 alone is a one-year term, not 1 + 1)
                    added = m.group("add") if "add" in m.re.groupindex else None
                    # a renewal for a length adds it in its own unit (再续一年, 先延两个月); a count multiplies the first term
                    length = k * float(q["per_unit"].get(added.strip(" -"), 1)) if added else 0.0
                    concept = _range_concept(q, first[1] + length if added else first[1] * (1 + k))
                    if concept:
                        out.append(Mention(concept, m.group(0), m.start(), m.end()))
        return out

    @staticmethod
    def _year(q: JSON, m: re.Match[str], group: str) -> int:
        """The year a date range's match gives in `group`: a number, a year said relative to this one (`relative_years`:
        今年, next year), or this year when the range does not say where it starts (签到2030年)."""
        value = m.group(group) or ""
        if value.isdigit():
            return int(value)
        after: int = (q.get("relative_years") or {}).get(value.lower(), 0)
        return datetime.date.today().year + after

    @staticmethod
    def _month(q: JSON, m: re.Match[str], group: str, default: int = 1) -> int:
        """The month a date range's match gives in `group` (a number or one of `month_names`), `default` when none."""
        value = m.group(group) if group in m.re.groupindex else None
        if not value:
            return default
        return int(value) if value.isdigit() else (q.get("month_names") or {}).get(value[:3], 1)

    def _english_negation(self, text: str, start: int) -> str | None:
        """An English denial ("not", "without", "no") in the same clause, a few words before a mention."""
        if self.english_negation is None:
            return None
        clause_start = max([text.rfind(b, 0, start) + len(b) for b in self.breaks if text.rfind(b, 0, start) >= 0]
                           + [0])
        if self.english_clause_start is not None:  # language.yaml: "and" before a new subject starts a clause
            clause_start = max([m.end() for m in self.english_clause_start.finditer(text) if m.end() <= start]
                               + [clause_start])
        m = self.english_negation.search(text[max(clause_start, start - 40):start])
        return m.group(0) if m else None

    def _cue(self, text: str, start: int, end: int) -> str | None:
        """The denial of the words at [start, end), if any (English words: an English denial before them)."""
        if not has_chinese(text[start:end]):
            return self._english_negation(text, start)
        return self._negation(text, start) or self._negation_after(text, end)

    def denies(self, text: str, start: int, end: int) -> bool:
        """Whether a negation cue before or after the words at [start, end) of normalised text denies them (English
        words: an English denial before them in the same clause)."""
        return self._cue(text, start, end) is not None

    def _clause_end(self, text: str, end: int) -> int:
        stop = len(text)
        for b in self.breaks:
            i = text.find(b, end)
            if i >= 0:
                stop = min(stop, i)
        return stop

    def _negation_after(self, text: str, end: int) -> str | None:
        """A denial that follows the term in the same clause: 跟劳务派遣没关系, 与派遣无关."""
        after = text[end:self._clause_end(text, end)]
        for cue in self.after_cues:
            i = after.find(cue)
            if 0 <= i <= self.after_window:
                return cue
        return None

    def _mask(self, text: str) -> str:
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

    def _negation(self, text: str, start: int) -> str | None:
        """The negation cue governing a mention starting at `start`, if any (same clause, within the window)."""
        clause_start = 0
        for b in self.breaks:
            i = text.rfind(b, 0, start)
            if i >= 0:
                clause_start = max(clause_start, i + len(b))
        # question forms are masked in the whole text first: 能承接 inside 能不能承接 must not see 不 as a denial
        before = self._mask(text)[clause_start:start]
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
