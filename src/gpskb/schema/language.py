"""The shapes of the files that tell the reader its words and the ranker its settings: lexicon.yaml (the concepts and
their terms), language.yaml (negation, quantities, mentions, tolerances) and retrieval.yaml (chunking, fusion,
out-of-scope thresholds, the English glossary)."""
from __future__ import annotations

from typing import Annotated, Any, Literal, NoReturn

from pydantic import AfterValidator, Field, StrictBool, StrictInt, field_validator
from pydantic_core import PydanticCustomError

from .fields import ConceptId, ConceptKind, Number, Shape, Text, Texts, check_patterns

# --- lexicon.yaml ---------------------------------------------------------------------------------------------

class ConceptEntry(Shape):
    id: ConceptId
    label: Text
    kind: ConceptKind
    terms: Texts
    exceptions: Texts | None = None
    exception_patterns: Texts | None = None
    patterns: Texts | None = None
    together: list[Any] | None = None  # each a non-empty list of regexes (checked with the patterns)
    english: Texts | None = None
    note: Text | None = None


class LexiconFile(Shape):
    concepts: list[ConceptEntry]


# --- language.yaml --------------------------------------------------------------------------------------------

class QuantityRange(Shape):
    above: Number
    upto: Number
    concept: Text


class WhenAsked(Shape):
    aspect: Text
    patterns: Texts


class Quantity(Shape):
    id: Text
    patterns: Texts
    per_unit: Annotated[dict[str, Any], AfterValidator(lambda d: d or _raise_empty_mapping())]
    ranges: list[QuantityRange]
    renewals: Texts | None = None
    date_ranges: Texts | None = None
    # month names a date range may use (July 2025 to June 2028) → month number; words that count one (renew for
    # another year) → the count
    month_names: dict[str, int] | None = None
    # a date range's start said relative to this year (今年, next year) → years after the current one; a range whose
    # start is not said at all starts this year (签到2030年)
    relative_years: dict[str, int] | None = None
    count_words: dict[str, int] | None = None
    exceptions: Texts | None = None
    when_asked: WhenAsked | None = None


def _raise_empty_mapping() -> NoReturn:
    raise PydanticCustomError("empty_mapping", "expected a non-empty mapping")


class Countered(Shape):
    by: Texts
    concepts: Texts
    # what undoes the counter: regexes (the management only claimed: 说是公司管理，实际上…) and frame.yaml cue kinds (the
    # office runs the people itself: directed_by_us)
    unless: Texts = []
    unless_cues: Texts = []


class Mentions(Shape):
    kinds: Texts
    topic_patterns: Texts
    concern_patterns: Texts
    # a definition asked for (什么叫「融资行为」?): the words inside assert nothing and the question is on the texts
    definition_patterns: Texts | None = None
    uncertain_kinds: Texts | None = None
    uncertain_said: Texts | None = None  # concepts that are the not-knowing itself: not asked inside the unsure words
    uncertain_patterns: Texts | None = None
    step_concepts: Texts | None = None  # conditions a question may ask how to meet (纳入目录, 安排预算)
    step_patterns: Texts | None = None  # …asked about as a step to take, not stated as met (要不要先纳入目录, 如何安排预算)
    countered: Countered | None = None
    # a service named only as the model to copy (照搬买养老服务那套做法来买托育): what is bought is something else
    analogy_kinds: Texts | None = None
    analogy_patterns: Texts | None = None
    background_kinds: Texts | None = None
    background_clause: Text | None = None
    purchase_words: Text | None = None


class Tolerance(Shape):
    min_term_chars: StrictInt
    max_inserted: StrictInt
    never_inserted: Texts = []  # characters a gap may not hold (a question or denial word: 预算怎么安排 is no 预算安排)


class TypoTolerance(Shape):
    min_term_chars: StrictInt
    max_substitutions: StrictInt
    never_substitute: Texts = []


class Pinyin(Shape):
    min_syllables: StrictInt = Field(2, ge=2)  # one syllable in pinyin is too often an English word (fan, men, she)
    min_letters: StrictInt = Field(4, ge=3)
    words: Texts = []
    never: Texts = []


class LanguageFile(Shape):
    negation_cues: Texts
    # cues that deny a whole noun phrase, 的 and all (不是我们局的下属单位); any other cue before a 的 denies only the
    # relative clause it opens (不搞经营的那种一类事业单位 is still 一类)
    negation_copulas: Texts = []
    negation_window: StrictInt
    negation_after_cues: Texts
    negation_after_window: StrictInt
    english_negation: Text | None = None
    english_clause_start: Text | None = None  # where an English denial's clause starts besides clause_breaks
    # a question opened by a negative (Doesn't the budget cover it?): it asks, its opening word denies nothing
    english_rhetorical: Text | None = None
    question_forms: Texts
    bounds: Texts | None = None
    quantities: list[Quantity] | None = None
    mentions: Mentions | None = None
    gap_tolerance: Tolerance
    typo_tolerance: TypoTolerance
    pinyin: Pinyin | None = None
    english_shorthand: dict[Text, Text] = {}  # an informal English spelling (thru, govt) → the words it stands for
    clause_breaks: Texts
    generic_terms: Texts
    max_question_chars: StrictInt = Field(ge=10)  # a question longer than this is refused (0 would refuse every one)

    # the one-string English patterns compile when the policy loads (a broken one names its field)
    _compiles = field_validator("english_negation", "english_clause_start", "english_rhetorical")(
        classmethod(lambda cls, pattern: check_patterns([pattern])[0] if pattern is not None else None))


# --- retrieval.yaml -------------------------------------------------------------------------------------------

class Chunking(Shape):
    sentence_breaks: Texts
    min_chars: StrictInt
    title_prefix: StrictBool


class Fusion(Shape):
    method: Literal["rrf"]
    k: StrictInt
    dense_weight: Number
    lexical_weight: Number
    concept_weight: Number
    concept_ranker_skips_kinds: list[ConceptKind]


class OutOfScope(Shape):
    lexical_weight: Text  # kept as written (a decimal string) and read as a number by the loader
    threshold: Text
    how_chosen: Text


class Gloss(Shape):
    en: Text
    zh: Text


class RetrievalFile(Shape):
    chunking: Chunking
    fusion: Fusion
    out_of_scope: OutOfScope
    max_citations: StrictInt
    # where the best retrieved passage goes beside a fallback rule (after the rule's first clause at the earliest)
    fallback_retrieval_at: Annotated[StrictInt, Field(ge=1)] | None = None
    english_glossary: list[Gloss] | None = None
