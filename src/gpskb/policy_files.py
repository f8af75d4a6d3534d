"""pydantic models of the policy files that hold the texts and the rules — documents/*.yaml, rules/*.yaml,
lexicon.yaml, language.yaml, retrieval.yaml, training.yaml — and of the evaluation question files.

They check shape only (types, required fields, known keys, choices, id syntax); what refers to what (a rule's clause
exists, its quote is verbatim, a concept is known) is checked by gpskb.policy once everything is read. `check()`
turns the first validation error into a PolicyError naming the file and the field in the loader's own words
(`policy/documents/caizong-2023-12.yaml: clauses[12].text: field required`).
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, NoReturn, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError
from pydantic_core import PydanticCustomError

from .errors import FileFieldError, PolicyError

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*(/[a-z0-9-]+)*$")
CONCEPT_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _text(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_text", "expected non-empty text")
    return value


def _id(pattern: re.Pattern[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise PydanticCustomError("bad_id", "{value} is not a valid id (lower-case ASCII, digits, '-' and '/')",
                                      {"value": repr(value)})
        return value
    return check


def _item(value: str) -> str:
    if not value:
        raise PydanticCustomError("empty_item", "expected a list of non-empty texts")
    return value


Text = Annotated[StrictStr, AfterValidator(_text)]
Texts = list[Annotated[StrictStr, AfterValidator(_item)]]  # an item may be only a space (a clause break)
Id = Annotated[Text, AfterValidator(_id(ID_RE))]
ConceptId = Annotated[Text, AfterValidator(_id(CONCEPT_ID_RE))]
Number = StrictFloat  # an int is a number too; a bool or a text is not
Outcome = Literal["prohibited", "conditional", "allowed"]
ConceptKind = Literal["employment", "mode", "service", "auxiliary", "provider", "purchaser", "role", "object",
                      "contract", "frame"]
CONCEPT_KINDS: tuple[str, ...] = get_args(ConceptKind)


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# --- documents/*.yaml ---------------------------------------------------------------------------------------------

class Provenance(_Shape):
    tag: Text
    description: Text


class Missing(_Shape):
    articles: Text
    note: Text


class MissingTopic(_Shape):
    id: Text
    label: Text
    patterns: Texts


class DocumentMeta(_Shape):
    id: Id
    number: Text
    title: Text
    short_title: Text | None = None
    issuer: Text
    addressees: Text | None = None
    disclosure: Text | None = None
    copied_to: Text | None = None
    printed_by: Text | None = None
    printed_on: Text | None = None
    published_on: Text | None = None
    effective_on: Text | None = None
    source: Text
    excerpt: StrictBool
    excerpt_note: Text | None = None
    provenance: list[Provenance] | None = None
    missing: list[Missing] | None = None
    missing_topics: list[MissingTopic] | None = None


class ClauseEntry(_Shape):
    id: Id
    kind: Literal["preamble", "part", "item", "closing", "chapter", "article", "article-item", "note"]
    number: Text | None = None
    title: Text | None = None
    part: Text | None = None
    text: Text
    sources: Text | None = None
    aliases: Texts | None = None


class DocumentFile(_Shape):
    document: DocumentMeta
    clauses: list[ClauseEntry]


# --- rules/*.yaml -------------------------------------------------------------------------------------------------

class Condition(_Shape):
    any: Texts | None = None
    all: Texts | None = None
    none: Texts | None = None
    any_of_each: list[Texts] | None = None


class RuleEntry(_Shape):
    id: Id
    title: Text
    clauses: Texts
    quote: Text
    when: Condition
    outcome: Outcome
    priority: StrictInt
    overrides: list[Outcome] | None = None
    explanation: Text
    conclusion: Text | None = None
    aspect: Text | None = None  # one of policy/frame.yaml's aspects (checked after it is loaded)
    fallback: StrictBool | None = None  # decides only when no other rule that does not prohibit fired
    alone: StrictBool | None = None  # a fallback that never makes another rule's allowed conditional
    own_aspect_only: StrictBool | None = None  # a review of what is bought: it qualifies an allowed only when its aspect is asked
    settles: Texts | None = None  # ids of conditional rules whose checks this allowed rule's facts answer
    override_note: Text | None = None
    checks: Texts | None = None
    follow_ups: Texts | None = None


class NotFormalised(_Shape):
    clause: Text
    reason: Text


class FollowUpOption(_Shape):
    label: Text
    facts: Texts


class FollowUpEntry(_Shape):
    id: Id
    ask_when: Condition
    question: Text
    options: list[FollowUpOption]


class RulesFile(_Shape):
    rules: list[RuleEntry]
    not_formalised: list[NotFormalised] | None = None
    follow_ups: list[FollowUpEntry] | None = None


# --- lexicon.yaml ---------------------------------------------------------------------------------------------

class ConceptEntry(_Shape):
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


class LexiconFile(_Shape):
    concepts: list[ConceptEntry]


# --- language.yaml --------------------------------------------------------------------------------------------

class QuantityRange(_Shape):
    above: Number
    upto: Number
    concept: Text


class WhenAsked(_Shape):
    aspect: Text
    patterns: Texts


class Quantity(_Shape):
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


class Countered(_Shape):
    by: Texts
    concepts: Texts
    # what undoes the counter: regexes (the management only claimed: 说是公司管理，实际上…) and frame.yaml cue kinds (the
    # office runs the people itself: directed_by_us)
    unless: Texts = []
    unless_cues: Texts = []


class Mentions(_Shape):
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


class Tolerance(_Shape):
    min_term_chars: StrictInt
    max_inserted: StrictInt
    never_inserted: Texts = []  # characters a gap may not hold (a question or denial word: 预算怎么安排 is no 预算安排)


class TypoTolerance(_Shape):
    min_term_chars: StrictInt
    max_substitutions: StrictInt
    never_substitute: Texts = []


class Pinyin(_Shape):
    min_syllables: StrictInt = Field(2, ge=2)  # one syllable in pinyin is too often an English word (fan, men, she)
    min_letters: StrictInt = Field(4, ge=3)
    words: Texts = []
    never: Texts = []


class LanguageFile(_Shape):
    negation_cues: Texts
    # cues that deny a whole noun phrase, 的 and all (不是我们局的下属单位); any other cue before a 的 denies only the
    # relative clause it opens (不搞经营的那种一类事业单位 is still 一类)
    negation_copulas: Texts = []
    negation_window: StrictInt
    negation_after_cues: Texts
    negation_after_window: StrictInt
    english_negation: Text | None = None
    english_clause_start: Text | None = None  # where an English denial's clause starts besides clause_breaks
    question_forms: Texts
    bounds: Texts | None = None
    quantities: list[Quantity] | None = None
    mentions: Mentions | None = None
    gap_tolerance: Tolerance
    typo_tolerance: TypoTolerance
    pinyin: Pinyin | None = None
    clause_breaks: Texts
    generic_terms: Texts
    max_question_chars: StrictInt = Field(ge=10)  # a question longer than this is refused (0 would refuse every one)


# --- retrieval.yaml -------------------------------------------------------------------------------------------

class Chunking(_Shape):
    sentence_breaks: Texts
    min_chars: StrictInt
    title_prefix: StrictBool


class Fusion(_Shape):
    method: Literal["rrf"]
    k: StrictInt
    dense_weight: Number
    lexical_weight: Number
    concept_weight: Number
    concept_ranker_skips_kinds: list[ConceptKind]


class OutOfScope(_Shape):
    lexical_weight: Text  # kept as written (a decimal string) and read as a number by the loader
    threshold: Text
    how_chosen: Text


class Gloss(_Shape):
    en: Text
    zh: Text


class RetrievalFile(_Shape):
    chunking: Chunking
    fusion: Fusion
    out_of_scope: OutOfScope
    max_citations: StrictInt
    # where the best retrieved passage goes beside a fallback rule (after the rule's first clause at the earliest)
    fallback_retrieval_at: Annotated[StrictInt, Field(ge=1)] | None = None
    english_glossary: list[Gloss] | None = None


# --- training.yaml --------------------------------------------------------------------------------------------

class Scenario(_Shape):
    id: Text
    title: Text
    scenario: Text
    verdict: Outcome
    clauses: Texts
    explanation: Text


class TrainingFile(_Shape):
    scenarios: list[Scenario]


# --- eval/*-questions.yaml ------------------------------------------------------------------------------------

class QuestionEntry(_Shape):
    id: Text
    kind: Literal["eligibility", "info", "out_of_scope"]
    q: Text
    verdict: list[Literal["prohibited", "allowed", "conditional", "no_rule"]] | None = None
    cite: list[Any] | None = None  # numbers, 'meta', part ids or clause ids (gpskb.evaluation.expected_clause)
    aspect: Text | None = None  # an aspect of policy/frame.yaml (checked when scored)
    lang: Literal["zh", "en"] | None = None


# --- errors in the loader's words -----------------------------------------------------------------------------

_MESSAGES = {
    "missing": "field required",
    "bool_type": "expected true or false",
    "int_type": "expected an integer",
    "float_type": "expected a number",
    "string_type": "expected non-empty text",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
}


def _where(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("int", "float") or str(part).startswith("function-"):
            continue  # a union member's or a validator's own name, not a field
        else:
            out += f".{part}" if out else str(part)
    return out


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model whose field set a location's last key was checked against (for "did you mean")."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def check(model: type[BaseModel], data: Any, file: str, error: type[FileFieldError] = PolicyError,
          prefix: str = "") -> Any:
    """`data` checked against `model`; returned as it was read. The first problem is `error(file, field, what)`, the
    field under `prefix` (a question file's `[3]`)."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # an unknown key first, as the loader always did: a misspelt required key (txt: for text:) is then reported
        # as itself with "did you mean", not as the required field it left missing
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        where = prefix + ("." if prefix and err["loc"] and not isinstance(err["loc"][0], int) else "") + _where(err["loc"])
        where = where or "top level"
        kind = err["type"]
        if kind == "extra_forbidden":
            owner = _model_at(model, err["loc"])
            near = difflib.get_close_matches(str(err["loc"][-1]), list(owner.model_fields), n=1) if owner else []
            message = "unknown key" + (f" (did you mean {near[0]!r}?)" if near else "")
        elif kind == "literal_error":
            message = f"{err['input']!r} is not one of {err['ctx']['expected']}"
        elif kind in ("dict_type", "model_type") and not err["loc"]:
            message = f"expected a mapping, got {type(data).__name__}"
        else:
            message = _MESSAGES.get(kind, err["msg"])
        raise error(file, where, message) from None
    return data
