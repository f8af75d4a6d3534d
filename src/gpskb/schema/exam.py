"""The model of exam.yaml: how a trainer's question bank is read and turned into statements (gpskb.bank)."""
from __future__ import annotations

from pydantic import Field, field_validator

from .fields import Strict, check_patterns


class ExamLimits(Strict):
    max_items: int = Field(gt=0)
    max_bytes: int = Field(gt=0)
    max_cell_chars: int = Field(gt=0)


class ExamColumns(Strict):
    type: tuple[str, ...] = Field(min_length=1)
    stem: tuple[str, ...] = Field(min_length=1)
    key: tuple[str, ...] = Field(min_length=1)
    options: tuple[str, ...] = ()
    explanation: tuple[str, ...] = ()
    option_prefixes: tuple[str, ...] = Field(min_length=1)


class ExamClaim(Strict):
    negative: tuple[str, ...] = Field(min_length=1)
    positive: tuple[str, ...] = Field(min_length=1)
    modifier_end: tuple[str, ...] = ()
    coordination: tuple[str, ...] = ()
    absolute: tuple[str, ...] = ()
    # an option that names a thing (…的服务事项) and what stands in for it when the claim is read
    noun_phrase_option: str | None = None
    noun_phrase_stand_in: str = ""

    @field_validator("noun_phrase_option")
    @classmethod
    def _noun_phrase_compiles(cls, pattern: str | None) -> str | None:
        if pattern:
            check_patterns([pattern])
        return pattern


class ExamConfig(Strict):
    """policy/exam.yaml: how a trainer's question bank is read and turned into statements (gpskb.bank)."""

    limits: ExamLimits
    columns: ExamColumns
    types: dict[str, tuple[str, ...]]
    judge_keys: dict[str, tuple[str, ...]]
    blanks: tuple[str, ...]
    choice_lead: str
    asks_false: tuple[str, ...] = ()
    statement_options: str = ""
    claim: ExamClaim
    judged_aspects: tuple[str, ...] = Field(min_length=1)
    not_in_blanks: tuple[str, ...] = ()
    holds: dict[str, bool]

    @field_validator("blanks")
    @classmethod
    def _blanks_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        return check_patterns(patterns)

    @field_validator("choice_lead")
    @classmethod
    def _lead_compiles(cls, pattern: str) -> str:
        return check_patterns([pattern])[0]

    @field_validator("types")
    @classmethod
    def _three_types(cls, types: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        if set(types) != {"判断", "单选", "多选"}:
            raise ValueError("must name exactly the types 判断, 单选 and 多选")
        return types

    @field_validator("judge_keys")
    @classmethod
    def _two_keys(cls, keys: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        if set(keys) != {"对", "错"}:
            raise ValueError("must name exactly the keys 对 and 错")
        return keys

    @field_validator("holds")
    @classmethod
    def _verdicts(cls, holds: dict[str, bool]) -> dict[str, bool]:
        unknown = set(holds) - {"allowed", "conditional", "prohibited", "no_rule", "out_of_scope"}
        if unknown:
            raise ValueError(f"unknown verdicts: {', '.join(sorted(unknown))}")
        return holds

