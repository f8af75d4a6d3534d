"""Request and response models: the request bodies FastAPI validates, and the response shapes it publishes in
/openapi.json."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from ..answer_types import Citation
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


class RuleOut(BaseModel):
    """One fired rule in the trace (gpskb.rules.Firing.as_dict)."""

    model_config = ConfigDict(extra="forbid")
    rule_id: str
    outcome: Literal["prohibited", "conditional", "allowed"]
    clause_ids: list[str]
    matched: list[str] = Field(description="the question's words (or a form's labels) that made it fire")
    explanation: str
    status: Literal["decisive", "supporting", "overridden", "not_asked"]
    overridden_by: str | None
    quote: str = Field(description="the clause's words the rule rests on, verbatim")
    priority: int
    title: str
    checks: list[str]


class FollowUpOption(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    facts: list[str] = Field(description="concept ids to send back in `facts` when this option is chosen")


class FollowUpOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    question: str
    options: list[FollowUpOption]


class UnderstoodOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aspect: str | None = Field(description="can_buy | who_provides | who_buys | contract_term | budget_catalogue | "
                                           "how_to | text_info | out_of_scope")
    label: str
    shown: str


class AnswerOut(BaseModel):
    """The answer object of `POST /api/v1/ask` and `gpskb ask --json` (gpskb.answer.Answer.to_dict): every field the
    library writes is declared here, and tests/test_api.py validates real answers against it."""

    model_config = ConfigDict(extra="forbid")
    question: str
    verdict: Literal["prohibited", "conditional", "allowed", "no_rule", "out_of_scope"]
    answer: str
    citations: list[Citation]  # the library's dataclass: the contract has one definition
    rules: list[RuleOut]
    badge: str
    follow_ups: list[FollowUpOut]
    facts: dict[str, Any] = Field(description="what was read: concepts, mentions, the frame (a trace, not a contract)")
    timings_ms: dict[str, float]
    notes: list[str]
    conclusion: str
    understood: UnderstoodOut = Field(description="the aspect asked, as read")
    english: str | None = Field(description="the one-line English verdict, for a question asked in English")


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
    index: dict[str, Any]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorOut, "description": _HTTP_ERRORS.get(c, ("", "", "error"))[2]} for c in codes}
