"""The field types and base models the policy files' models share: non-empty texts, ids, concept kinds and outcomes;
Shape (the strict base of the shape-checked files), Strict (the frozen base of the validated ones) and
check_patterns (every pattern of a validated file compiles as the readers will use it)."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Literal, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictFloat, StrictStr
from pydantic_core import PydanticCustomError

from ..text import compile_pattern

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


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


_Patterns = TypeVar("_Patterns", bound=Sequence[str])


def check_patterns(patterns: _Patterns) -> _Patterns:
    """The patterns, each checked to compile as the readers use them (folded: `compile_pattern`, cached, so the check
    is the only compilation); a broken one names itself."""
    for p in patterns:
        try:
            compile_pattern(p)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {p!r}: {exc}") from None
    return patterns


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

