"""Request and response models: the request bodies FastAPI validates, and the response shapes it publishes in
/openapi.json."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from ..answer import Citation
from .errors import _HTTP_ERRORS
from .settings import MAX_BATCH, MAX_FACTS

# ---------------------------------------------------------------------------------------------------------------
# Request and response models (the response models document the contract in OpenAPI; answers are serialised
# directly from Answer.to_dict(), which is the contract)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(description="问题，例如：能否以劳务派遣方式通过政府购买服务用工？")
    facts: list[StrictStr] = Field(default_factory=list, max_length=MAX_FACTS,
                                   description="直接给出的事实（概念 id），用于回答 follow_ups，例如 by_results")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    questions: list[Any] = Field(max_length=MAX_BATCH, json_schema_extra={"items": {"type": "string"}},
                                 description=f"至多 {MAX_BATCH} 个问题；无效的问题在结果中给出 error，其余照常回答")


class AnswerOut(BaseModel):
    question: str
    verdict: str = Field(description="prohibited | conditional | allowed | no_rule | out_of_scope")
    answer: str
    citations: list[Citation]  # the library's dataclass: the contract has one definition
    rules: list[dict]
    badge: str
    follow_ups: list[dict]
    facts: dict
    timings_ms: dict
    notes: list[str]


class ItemError(BaseModel):
    question: str
    error: str


class BatchOut(BaseModel):
    results: list[AnswerOut | ItemError]


class ErrorBody(BaseModel):
    code: str
    message_zh: str
    message_en: str


class ErrorOut(BaseModel):
    error: ErrorBody


class DocumentOut(BaseModel):
    id: str
    number: str
    title: str
    issuer: str
    excerpt: bool
    excerpt_note: str | None


class ClauseSummary(BaseModel):
    id: str
    document: str
    document_number: str
    label: str
    kind: str
    excerpt: bool
    excerpt_note: str | None


class ClauseList(BaseModel):
    documents: list[DocumentOut]
    clauses: list[ClauseSummary]


class ClauseDetail(ClauseSummary):
    document_title: str
    number: str | None
    title: str | None
    ref: str
    text: str
    sources: str | None


class HealthOut(BaseModel):
    status: str
    version: str
    documents: int
    clauses: int
    rules: int
    index: dict


def _errors(*codes: int) -> dict:
    return {c: {"model": ErrorOut, "description": _HTTP_ERRORS.get(c, ("", "", "error"))[2]} for c in codes}
