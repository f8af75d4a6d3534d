"""The HTTP API: `gpskb serve` (FastAPI on uvicorn) over the same Engine as the CLI and the app.

Why FastAPI + uvicorn: both are well kept and widely deployed; FastAPI validates request bodies with pydantic, so a
malformed body or a wrong field is a 422 without hand-written checks; it publishes the OpenAPI description at
/openapi.json with an interactive page at /docs; uvicorn is the standard ASGI server for it. Sync endpoints run in
uvicorn's thread pool, so CPU-bound answering never blocks the event loop.

Routes (JSON in and out, UTF-8):
    POST /api/v1/ask              {"question": "...", "facts": [...]?} → the answer contract (Answer.to_dict())
    POST /api/v1/ask/batch        {"questions": [... up to 100]} → {"results": [one object per question, in order]};
                                  a bad question gives {"question": ..., "error": ...} and the batch goes on
    GET  /api/v1/clauses          documents (with the excerpt flag and note) and every clause (id, document, label,
                                  kind, excerpt); ?document=<id> for one document
    GET  /api/v1/clauses/{id}     one clause with its verbatim text (ids contain slashes: caizong-2023-12/11)
    GET  /healthz                 200 when the knowledge base and index are loaded and match, else 503
    GET  /docs, /openapi.json     the OpenAPI description

Settings (environment, read when the app is created):
    GPSKB_API_TOKEN      when set, every /api/... request needs `Authorization: Bearer <token>` (else 401).
                         /healthz, /docs and /openapi.json stay open: a load balancer must probe health without a
                         secret, and the API's shape is no secret (the policy texts themselves are public).
    GPSKB_CORS_ORIGINS   comma-separated origins allowed to call the API from a browser; unset → no CORS headers.
    GPSKB_LOG_QUESTIONS  1 → each answered question is stored (source "api") in the SQLite store
                         ($GPSKB_STORE or data/gpskb.sqlite3). Default off.

Every error is {"error": {"code", "message_zh", "message_en"}} (a 404 for a clause adds "suggestions"); a server
error is logged with its traceback on the server and never shown to the client. Request bodies over 64 KB are
refused with 413, by Content-Length and by counting the bytes of chunked bodies. Each request is logged as one line
on the "gpskb.api" logger (method, route, status, latency, verdict), never with a header, the token or the question.

Speed: the engine is built once per process and shared (it is thread-safe); `serve` answers one question before
listening, runs the embedder on one OpenMP thread (see `serve`), and identical questions in flight at the same moment
are answered once (`_InFlight`). Answers are serialised straight from Answer.to_dict(). Measure with scripts/load.py.
"""
from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from . import __version__, config, policy
from .answer import Citation, Engine, answer_dict
from .errors import GpskbError, InputError, UnknownClause

log = logging.getLogger("gpskb.api")

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024
MAX_BATCH = 100
MAX_FACTS = 32
TOKEN_ENV = config.Settings.variable("api_token")
#: asked once at startup so the first real request does not pay for loading the model's pages
WARMUP_QUESTION = "能否以劳务派遣方式通过政府购买服务用工？"
_VERDICT_KEY = "gpskb.verdict"  # set in the ASGI scope by an endpoint, read by the request log

JSON = "application/json"


# ---------------------------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class Settings:
    """What the environment decides about the API (see the module docstring). Tests build one directly."""

    token: str | None = None
    cors_origins: tuple[str, ...] = ()
    log_questions: bool = False
    store_path: str | None = None  # None → the Store's default ($GPSKB_STORE or data/gpskb.sqlite3)
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch: int = MAX_BATCH

    @classmethod
    def from_env(cls) -> Settings:
        """The API's part of the environment's settings (gpskb.config.Settings: GPSKB_API_TOKEN, GPSKB_CORS_ORIGINS,
        GPSKB_LOG_QUESTIONS)."""
        env = config.settings()
        return cls(token=env.token, cors_origins=env.origins, log_questions=env.log_questions)


# ---------------------------------------------------------------------------------------------------------------
# JSON bodies and errors


def _dumps(obj) -> bytes:
    # the same encoding as Starlette's JSONResponse, without FastAPI's jsonable_encoder pass over a plain dict
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (valid in a JSON escape, not in UTF-8): escape everything
        return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def json_response(obj, status_code: int = 200, headers=None) -> Response:
    return Response(_dumps(obj), status_code=status_code, media_type=JSON, headers=headers)


def error_response(status_code: int, code: str, message_zh: str, message_en: str, headers=None, **extra) -> Response:
    return json_response({"error": {"code": code, "message_zh": message_zh, "message_en": message_en, **extra}},
                         status_code, headers)


class ApiError(Exception):
    """An error an endpoint answers with: status, code and the message in both languages."""

    def __init__(self, status_code: int, code: str, message_zh: str, message_en: str, **extra):
        super().__init__(message_en)
        self.status_code, self.code, self.message_zh, self.message_en, self.extra = (
            status_code, code, message_zh, message_en, extra)


class _BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` when a streamed body passes the limit. An HTTPException, so FastAPI re-raises it
    from its body reader (any other exception there becomes a 400) and the handler turns it into a 413."""

    def __init__(self):
        super().__init__(status_code=413)


def _split_message(message: str) -> tuple[str, str]:
    """The library's messages read "中文 / English"; one without both halves is used for both."""
    zh, sep, en = message.partition(" / ")
    return (zh.strip(), en.strip()) if sep else (message, message)


_HTTP_ERRORS = {
    400: ("bad_request", "请求无法解析", "the request could not be parsed"),
    401: ("unauthorized", "未授权", "unauthorized"),
    403: ("forbidden", "禁止访问", "forbidden"),
    404: ("not_found", "没有这个地址", "no such route"),
    405: ("method_not_allowed", "该地址不支持此请求方法", "method not allowed on this route"),
    413: ("payload_too_large", "请求体过大", "request body too large"),
    415: ("unsupported_media_type", "不支持的内容类型", "unsupported media type"),
    500: ("internal_error", "服务器内部错误", "internal server error"),
    503: ("unavailable", "服务暂不可用", "service unavailable"),
}

_VALIDATION_ZH = {
    "missing": "缺少字段",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "too_long": "条目过多",
    "too_short": "条目过少",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
}


def _loc(err: dict) -> str:
    return ".".join(str(p) for p in err.get("loc", ())) or "body"


def _http_error(status_code: int, settings: Settings, headers=None) -> Response:
    code, zh, en = _HTTP_ERRORS.get(status_code, ("http_error", f"请求错误（{status_code}）",
                                                 f"HTTP error {status_code}"))
    if status_code == 413:
        kb = settings.max_body_bytes // 1024
        zh, en = f"{zh}（上限 {kb} KB）", f"{en} (limit {settings.max_body_bytes} bytes)"
    if status_code == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="gpskb"'}
    return error_response(status_code, code, zh, en, headers=headers)


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


# ---------------------------------------------------------------------------------------------------------------
# Middleware (pure ASGI: no per-request task or body buffering, unlike BaseHTTPMiddleware)


class _ResponseWatch:
    """A `send` wrapper that records whether the response has started and with which status."""

    def __init__(self, send):
        self.send, self.started, self.status = send, False, 500

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            self.started, self.status = True, message["status"]
        await self.send(message)


class RequestLogMiddleware:
    """One log line per request: method, route template (or the escaped path when no route matched), status,
    latency and the verdict(s) an endpoint put in the scope. Headers, the token and the body are never logged."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        watch = _ResponseWatch(send)
        try:
            await self.app(scope, receive, watch)
        finally:
            status = watch.status
            route = scope.get("route")
            where = getattr(route, "path", None) or json.dumps(scope.get("path", ""), ensure_ascii=True)[1:-1][:200]
            verdict = scope.get(_VERDICT_KEY)
            ms = (time.perf_counter() - t0) * 1000
            level = logging.ERROR if status >= 500 else logging.INFO
            log.log(level, "%s %s %d %.1fms%s", scope.get("method"), where, status, ms,
                    f" verdict={verdict}" if verdict else "")


class BearerAuthMiddleware:
    """When a token is configured, every /api request needs `Authorization: Bearer <token>`; anything else is a 401
    whose body says only "unauthorized" (未授权). The comparison is constant-time (hmac.compare_digest)."""

    def __init__(self, app, token: str, settings: Settings):
        self.app = app
        self.expected = b"Bearer " + token.encode("utf-8")
        self.settings = settings

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and _is_api(scope.get("path", "")):
            given = b""
            for name, value in scope.get("headers", ()):
                if name == b"authorization":
                    given = value
                    break
            # the scheme is case-insensitive (RFC 7235); normalise it before the constant-time comparison
            if given[:7].lower() == b"bearer ":
                given = b"Bearer " + given[7:].strip()
            if not hmac.compare_digest(given, self.expected):
                response = _http_error(401, self.settings)
                return await response(scope, receive, send)
        await self.app(scope, receive, send)


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class BodyLimitMiddleware:
    """Refuse request bodies over the limit with 413: at once when Content-Length says so, else by counting the
    bytes as they arrive (chunked bodies have no Content-Length)."""

    def __init__(self, app, settings: Settings):
        self.app = app
        self.settings = settings
        self.limit = settings.max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            try:
                too_large = int(length) > self.limit
            except ValueError:
                too_large = False  # the server rejects a malformed Content-Length before we see it
            if too_large:
                return await _http_error(413, self.settings)(scope, receive, send)
        received = 0
        watch = _ResponseWatch(send)

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, watch)
        except _BodyTooLarge:
            if watch.started:
                raise
            await _http_error(413, self.settings)(scope, receive, send)


class CatchAllMiddleware:
    """The innermost net: an exception no handler took is logged with its traceback on the server and answered
    with a JSON 500 that carries no detail. (Inside CORS, so even a 500 is readable by an allowed origin.)"""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        watch = _ResponseWatch(send)
        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"),
                          getattr(scope.get("route"), "path", "(no route)"))
            if watch.started:
                raise
            code, zh, en = _HTTP_ERRORS[500]
            await error_response(500, code, zh, en)(scope, receive, send)


class JSONCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, with its refusal of a preflight request as a JSON error like every other."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code >= 400:
            detail = bytes(response.body).decode("utf-8", "replace")
            return error_response(response.status_code, "cors_rejected", "跨域请求不被允许", detail,
                                  headers={"Vary": "Origin"})
        return response


# ---------------------------------------------------------------------------------------------------------------
# The application


class _InFlight:
    """Identical questions asked at the same moment are answered once: the first request computes, the others wait
    for its result. Without this, concurrent misses on the embedder's query cache each embed the same question
    (measured: 632 embeddings for 222 distinct questions under 50 clients). Answers are deterministic for a loaded
    knowledge base, so sharing one is exact; the shared dict is only read (serialised, logged) afterwards."""

    class _Call:
        __slots__ = ("done", "result", "failed")

        def __init__(self):
            self.done = threading.Event()
            self.result = None
            self.failed = False

    def __init__(self):
        self._lock = threading.Lock()
        self._calls: dict = {}

    def run(self, key, compute):
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if leader:
                call = self._calls[key] = self._Call()
        assert call is not None
        if not leader:
            call.done.wait()
            if call.failed:
                raise RuntimeError("answering this question failed in a concurrent request")
            return call.result
        try:
            call.result = compute()
            return call.result
        except BaseException:
            call.failed = True
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()


class _Service:
    """What the endpoints share: the engine (thread-safe, loaded once), the settings, the optional question log and
    the clause listings (the knowledge base does not change while the process runs, so they are built once)."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self.store = None
        if settings.log_questions:
            from .store import Store

            self.store = Store(settings.store_path)
            log.info("logging questions to %s", self.store.path)
        kb = engine.kb
        self.documents = [{"id": d.id, "number": d.number, "title": d.title, "issuer": d.issuer,
                           "excerpt": d.excerpt, "excerpt_note": d.excerpt_note if d.excerpt else None}
                          for d in kb.documents.values()]
        self.clauses = [self.clause_summary(c) for c in kb.clauses.values()]
        self.clause_list = _dumps({"documents": self.documents, "clauses": self.clauses})
        self.in_flight = _InFlight()

    def answer(self, question: str, facts: tuple = ()) -> dict:
        """Answer.to_dict(), or {"question", "error"} for a question the library refuses (InputError); any other
        error is raised. Identical concurrent questions are computed once."""
        def compute():
            try:
                return self.engine.answer(question, facts=facts).to_dict()
            except InputError as exc:
                return {"question": question, "error": str(exc)}

        return self.in_flight.run((question, facts), compute)

    def clause_summary(self, clause) -> dict:
        doc = self.engine.kb.document_of(clause)
        return {"id": clause.id, "document": doc.id, "document_number": doc.number, "label": clause.label,
                "kind": clause.kind, "excerpt": doc.excerpt, "excerpt_note": doc.excerpt_note if doc.excerpt else None}

    def record(self, question: str, result: dict) -> None:
        """Store an answered question when GPSKB_LOG_QUESTIONS is on; a failing store never fails the request."""
        if self.store is None or "verdict" not in result:
            return
        try:
            self.store.log_question(question, result["verdict"], [c["clause_id"] for c in result["citations"]],
                                    source="api")
        except Exception:  # noqa: BLE001 - the answer matters more than the log
            log.warning("could not store the question in %s", self.store.path, exc_info=True)


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """The FastAPI application over one engine (built from the default policy folder and index when not given) and
    settings (from the environment when not given). Also usable as `uvicorn --factory gpskb.api:create_app`."""
    settings = settings or Settings.from_env()
    engine = engine or build_engine()
    service = _Service(engine, settings)

    app = FastAPI(
        title="gpskb API",
        version=__version__,
        summary="能否通过政府购买服务方式购买？结论与依据条款。",
        description="Whether a service can be bought through 政府购买服务, with the clauses that prove it. "
                    "Every error is `{\"error\": {\"code\", \"message_zh\", \"message_en\"}}`."
                    + (" Every /api route needs `Authorization: Bearer <token>`." if settings.token else ""),
        docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.gpskb = service

    # -- error handlers: every error is {"error": {...}} -----------------------------------------------------

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status_code, exc.code, exc.message_zh, exc.message_en, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http_exception(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body json.loads cannot even decode (not UTF-8): malformed JSON, like the rest
            return error_response(422, "invalid_json", "请求体不是有效的 JSON（须为 UTF-8 编码）",
                                  "the request body is not valid JSON (it must be UTF-8)")
        return _http_error(exc.status_code, settings, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            err = next(e for e in errors if e.get("type") == "json_invalid")
            where = err.get("loc", ("body", "?"))[-1]
            return error_response(422, "invalid_json", "请求体不是有效的 JSON",
                                  f"the request body is not valid JSON ({(err.get('ctx') or {}).get('error', '')} "
                                  f"at position {where})")
        zh = "；".join(f"{_loc(e)}：{_VALIDATION_ZH.get(e.get('type'), '取值无效')}" for e in errors[:10])
        en = "; ".join(f"{_loc(e)}: {e.get('msg', 'invalid')}" for e in errors[:10])
        details = [{"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type"), "msg": e.get("msg")}
                   for e in errors[:10]]  # never the input itself: it may be 64 KB of anything
        return error_response(422, "invalid_request", f"请求内容有误：{zh}", f"invalid request: {en}", details=details)

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception):  # reached only if a middleware itself fails
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        code, zh, en = _HTTP_ERRORS[500]
        return error_response(500, code, zh, en)

    # -- middleware (added innermost first) -------------------------------------------------------------------

    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    if settings.token:
        app.add_middleware(BearerAuthMiddleware, token=settings.token, settings=settings)
    if settings.cors_origins:
        app.add_middleware(JSONCORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"],
                           max_age=600)
    app.add_middleware(RequestLogMiddleware)

    # -- routes ------------------------------------------------------------------------------------------------

    @app.post(f"{API_PREFIX}/ask", response_model=AnswerOut, tags=["ask"], summary="回答一个问题 / answer one question",
              responses=_errors(401, 413, 422))
    def ask(body: AskRequest, request: Request):
        """The verdict, the memo text, the cited clauses (deciding clause first), the rule trace and timings:
        the same object as `gpskb ask --json`. A question the library refuses (empty, too long, binary) is a 422."""
        result = service.answer(body.question, tuple(body.facts))
        if "error" in result:
            zh, en = _split_message(result["error"])
            raise ApiError(422, "invalid_question", zh, en)
        request.scope[_VERDICT_KEY] = result["verdict"]
        service.record(body.question, result)
        return json_response(result)

    @app.post(f"{API_PREFIX}/ask/batch", response_model=BatchOut, tags=["ask"],
              summary=f"回答至多 {MAX_BATCH} 个问题 / answer up to {MAX_BATCH} questions",
              responses=_errors(401, 413, 422))
    def ask_batch(body: BatchRequest, request: Request):
        """One result per question, in order. A question that cannot be answered gives
        `{"question": ..., "error": ...}` in its place; the others are answered."""
        results = []
        for q in body.questions:
            try:
                if isinstance(q, str):
                    item = service.answer(q)
                else:  # refused by the library; shown as the JSON the client sent, not as a Python repr
                    item = {**answer_dict(service.engine, q), "question": json.dumps(q, ensure_ascii=False)[:200]}
            except GpskbError as exc:  # as answer_dict: a named library error is this item's error
                item = {"question": q, "error": str(exc)}
            except Exception:  # noqa: BLE001 - one bad item never loses the others' answers
                log.exception("unhandled error answering a batch item")
                item = {"question": q if isinstance(q, str) else json.dumps(q, ensure_ascii=False)[:200],
                        "error": "服务器内部错误 / internal error"}
            if "verdict" in item:
                service.record(q, item)
            results.append(item)
        counts = Counter(r.get("verdict", "error") for r in results)
        request.scope[_VERDICT_KEY] = ",".join(f"{k}:{v}" for k, v in sorted(counts.items())) or None
        return json_response({"results": results})

    @app.get(f"{API_PREFIX}/clauses", response_model=ClauseList, tags=["clauses"],
             summary="文件与条款清单 / documents and clauses", responses=_errors(401, 404))
    async def clauses(document: str | None = Query(None, description="只列出此文件的条款，例如 caizong-2023-12")):
        if document is None:
            return Response(service.clause_list, media_type=JSON)
        if document not in service.engine.kb.documents:
            raise ApiError(404, "unknown_document", f"没有文件 {document}", f"unknown document {document!r}",
                           suggestions=sorted(service.engine.kb.documents))
        return json_response({"documents": [d for d in service.documents if d["id"] == document],
                              "clauses": [c for c in service.clauses if c["document"] == document]})

    @app.get(f"{API_PREFIX}/clauses/{{clause_id:path}}", response_model=ClauseDetail, tags=["clauses"],
             summary="一个条款的原文 / one clause, verbatim", responses=_errors(401, 404))
    async def clause(clause_id: str):
        kb = service.engine.kb
        try:
            c = kb.clause(clause_id)
        except UnknownClause as exc:
            hint = f"，是否要找：{'、'.join(exc.suggestions)}" if exc.suggestions else ""
            raise ApiError(404, "unknown_clause", f"没有条款 {clause_id}{hint}", str(exc),
                           suggestions=exc.suggestions) from None
        doc = kb.document_of(c)
        return json_response({**service.clause_summary(c), "document_title": doc.title, "number": c.number,
                              "title": c.title, "ref": c.ref, "text": c.text, "sources": c.sources})

    @app.get("/healthz", response_model=HealthOut, tags=["health"], summary="健康检查 / health",
             responses={503: {"model": ErrorOut, "description": "the index does not match the knowledge base"}})
    async def healthz():
        """200 when the knowledge base is loaded and the index was built from these policy texts with the
        configured embedder (corpus hash, embedder id and version); 503 otherwise. No token needed."""
        engine = service.engine
        problem = _staleness(engine)
        if problem:
            return json_response({"status": "stale", "error": {
                "code": "index_stale", "message_zh": "索引与政策文本或嵌入模型不一致，请重建索引（gpskb index build）",
                "message_en": problem}}, status_code=503)
        manifest = engine.index.manifest
        return json_response({"status": "ok", "version": __version__, "documents": len(engine.kb.documents),
                              "clauses": len(engine.kb.clauses), "rules": len(engine.kb.rules),
                              "index": {"corpus_hash": manifest.get("corpus_hash"),
                                        "embedder": manifest.get("embedder"), "chunks": manifest.get("chunks"),
                                        "built_at": manifest.get("built_at")}})

    # -- OpenAPI: declare the bearer token on the /api routes when one is configured --------------------------

    def openapi() -> dict:
        schema = FastAPI.openapi(app)
        if settings.token and "bearerAuth" not in schema.get("components", {}).get("securitySchemes", {}):
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearerAuth"] = {
                "type": "http", "scheme": "bearer", "description": f"the value of ${TOKEN_ENV}"}
            for path, operations in schema.get("paths", {}).items():
                if _is_api(path):
                    for op in operations.values():
                        op["security"] = [{"bearerAuth": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _staleness(engine) -> str | None:
    """Why the engine's index cannot serve its knowledge base, or None (the check `Index.load` makes)."""
    from .index import Index

    index = getattr(engine, "index", None)
    manifest = getattr(index, "manifest", None)
    if not manifest or index is None:
        return "no index loaded"
    embedder = index.embedder
    return Index.staleness(manifest, engine.kb, embedder.id, embedder.version)


# ---------------------------------------------------------------------------------------------------------------
# Serving


def build_engine(policy_dir=None, index_dir=None) -> Engine:
    """An engine on a policy folder and its index (defaults as in the CLI), the index rebuilt if stale."""
    return Engine(policy.load(policy_dir), index_dir=index_dir, log=lambda m: log.warning("%s", m))


def _configure_logging() -> None:
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(logging.INFO)


def serve(args) -> int:
    """`gpskb serve`: build the engine once, answer one question to warm it, run uvicorn until interrupted."""
    # One OpenMP thread for the embedder: set by the gpskb package for every entry point (gpskb/__init__.py). Measured
    # on the 2-core target with one core busy elsewhere: two threads spin-wait for each other and a query embedding
    # took 24-100 ms at p50 and 1.6-2.5 s at p95; one thread, 20 ms and 29 ms.
    import uvicorn

    _configure_logging()
    settings = Settings.from_env()
    t0 = time.perf_counter()
    engine = build_engine(getattr(args, "policy_dir", None), getattr(args, "index_dir", None))
    engine.answer(WARMUP_QUESTION)
    app = create_app(engine, settings)
    log.info("engine ready in %.1f s: %d documents, %d clauses, %d rules; token %s, CORS %s, question log %s",
             time.perf_counter() - t0, len(engine.kb.documents), len(engine.kb.clauses), len(engine.kb.rules),
             "required" if settings.token else "off", ", ".join(settings.cors_origins) or "off",
             "on" if settings.log_questions else "off")
    if args.host not in ("127.0.0.1", "localhost", "::1") and not settings.token:
        log.warning("listening on %s without %s: anyone who can reach this port can use the API", args.host,
                    TOKEN_ENV)
    config = uvicorn.Config(app, host=args.host, port=args.port, access_log=False, server_header=False,
                            timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    server.run()
    return 0
