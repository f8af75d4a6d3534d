"""The application: the routes, error handlers and middleware (`create_app`), and `serve`. What the routes share is
gpskb.api.service's."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.protocols.http.h11_impl import H11Protocol

from .. import __version__, config, policy
from ..answer import Engine, answer_dict
from ..errors import GpskbError, UnknownClause
from ..jsontypes import JSON as JSONObject
from .errors import _HTTP_ERRORS, _VALIDATION_ZH, ApiError, _http_error, _loc, _split_message, error_response, json_response
from .middleware import (
    AdmissionMiddleware,
    BearerAuthMiddleware,
    BodyLimitMiddleware,
    CatchAllMiddleware,
    JSONCORSMiddleware,
    RepeatFilter,
    RequestLogMiddleware,
    _is_api,
)
from .models import AnswerOut, AskRequest, BatchOut, BatchRequest, ClauseDetail, ClauseList, ErrorOut, HealthOut, _errors
from .service import _Service
from .settings import _VERDICT_KEY, API_PREFIX, JSON, MAX_BATCH, TOKEN_ENV, WARMUP_QUESTION, Settings

log = logging.getLogger("gpskb.api")

# ---------------------------------------------------------------------------------------------------------------
# The application


async def _utf8_body(request: Request) -> None:
    """The API takes UTF-8 JSON only: json.loads would also decode a UTF-16 or UTF-32 body (it guesses from the
    first bytes), so such a body is refused with a clear error instead of being answered."""
    try:
        (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, "invalid_encoding", "请求体必须是 UTF-8 编码的 JSON",
                       "the request body must be UTF-8 encoded JSON") from None


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """The FastAPI application over one engine (built from the default policy folder and index when not given) and
    settings (from the environment when not given). Also usable as `uvicorn --factory gpskb.api:create_app`."""
    settings = settings or Settings.from_env()
    engine = engine or build_engine()
    service = _Service(engine, settings)

    # FastAPIOffline: FastAPI whose /docs page loads Swagger UI from files the fastapi-offline package ships
    # (mounted at /static-offline-docs), not from a CDN an intranet cannot reach
    app = FastAPIOffline(
        title="gpskb API",
        version=__version__,
        summary="能否通过政府购买服务方式购买？结论与依据条款。",
        description="Whether a service can be bought through 政府购买服务, with the clauses that prove it. "
                    "Every error is `{\"error\": {\"code\", \"message_zh\", \"message_en\"}}`."
                    + (" Every /api route needs `Authorization: Bearer <token>`." if settings.token else ""),
        docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.gpskb = service

    _add_error_handlers(app, settings)
    _add_middleware(app, settings)
    _add_ask_routes(app, service)
    _add_clause_routes(app, service)
    _declare_token(app, settings)
    return app


def _add_error_handlers(app: FastAPI, settings: Settings) -> None:
    """Every error is {"error": {...}}: the API's own, HTTP errors, invalid requests, and a failing middleware."""
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc.status_code, exc.code, exc.message_zh, exc.message_en, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http_exception(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body json.loads cannot even decode (not UTF-8): malformed JSON, like the rest
            return error_response(422, "invalid_json", "请求体不是有效的 JSON（须为 UTF-8 编码）",
                                  "the request body is not valid JSON (it must be UTF-8)")
        return _http_error(exc.status_code, settings, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
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
    async def _server_error(request: Request, exc: Exception) -> Response:  # reached only if a middleware itself fails
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        code, zh, en = _HTTP_ERRORS[500]
        return error_response(500, code, zh, en)


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """The request log, CORS, bearer auth, admission, the body limit and the catch-all (added innermost first): an
    unauthenticated request is refused before it takes a place."""
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(AdmissionMiddleware, settings=settings)
    if settings.token:
        app.add_middleware(BearerAuthMiddleware, token=settings.token, settings=settings)
    if settings.cors_origins:
        app.add_middleware(JSONCORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"],
                           max_age=600)
    app.add_middleware(RequestLogMiddleware)


def _add_ask_routes(app: FastAPI, service: _Service) -> None:
    """/api/v1/ask and /api/v1/ask/batch."""
    @app.post(f"{API_PREFIX}/ask", response_model=AnswerOut, tags=["ask"], summary="回答一个问题 / answer one question",
              responses=_errors(401, 413, 422), dependencies=[Depends(_utf8_body)])
    def ask(body: AskRequest, request: Request) -> Response:
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
              responses=_errors(401, 413, 422), dependencies=[Depends(_utf8_body)])
    def ask_batch(body: BatchRequest, request: Request) -> Response:
        """One result per question, in order. A question that cannot be answered gives
        `{"question": ..., "error": ...}` in its place; the others are answered."""
        results: list[JSONObject] = []
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


def _add_clause_routes(app: FastAPI, service: _Service) -> None:
    """/api/v1/clauses, /api/v1/clauses/{id} and /healthz."""
    @app.get(f"{API_PREFIX}/clauses", response_model=ClauseList, tags=["clauses"],
             summary="文件与条款清单 / documents and clauses", responses=_errors(401, 404))
    async def clauses(document: str | None = Query(None, description="只列出此文件的条款，例如 caizong-2023-12")) -> Response:
        if document is None:
            return Response(service.clause_list, media_type=JSON)
        if document not in service.engine.kb.documents:
            raise ApiError(404, "unknown_document", f"没有文件 {document}", f"unknown document {document!r}",
                           suggestions=sorted(service.engine.kb.documents))
        return json_response({"documents": [d for d in service.documents if d["id"] == document],
                              "clauses": [c for c in service.clauses if c["document"] == document]})

    @app.get(f"{API_PREFIX}/clauses/{{clause_id:path}}", response_model=ClauseDetail, tags=["clauses"],
             summary="一个条款的原文 / one clause, verbatim", responses=_errors(401, 404))
    async def clause(clause_id: str) -> Response:
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
    async def healthz() -> Response:
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


def _declare_token(app: FastAPI, settings: Settings) -> None:
    """OpenAPI: declare the bearer token on the /api routes when one is configured."""
    def openapi() -> JSONObject:
        schema = FastAPI.openapi(app)
        if settings.token and "bearerAuth" not in schema.get("components", {}).get("securitySchemes", {}):
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearerAuth"] = {
                "type": "http", "scheme": "bearer", "description": f"the value of ${TOKEN_ENV}"}
            for path, operations in schema.get("paths", {}).items():
                if _is_api(path):
                    for op in operations.values():
                        op["security"] = [{"bearerAuth": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # replacing app.openapi is how FastAPI customises the schema


def _staleness(engine: Engine) -> str | None:
    """Why the engine's index cannot serve its knowledge base, or None (the check `Index.load` makes)."""
    from ..index.manifest import staleness

    index = getattr(engine, "index", None)
    manifest = getattr(index, "manifest", None)
    if not manifest or index is None:
        return "no index loaded"
    embedder = index.embedder
    return staleness(manifest, engine.kb, embedder.id, embedder.version)


# ---------------------------------------------------------------------------------------------------------------
# Serving


def build_engine(policy_dir: str | os.PathLike[str] | None = None,
                 index_dir: str | os.PathLike[str] | None = None) -> Engine:
    """An engine on a policy folder and its index (defaults as in the CLI), the index rebuilt if stale."""
    return Engine(policy.load(policy_dir), index_dir=index_dir, log=lambda m: log.warning("%s", m))


def _configure_logging() -> None:
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(logging.INFO)
    # the same line repeated (an accept error when file descriptors run out, a failing request) is logged at most a
    # few times in ten seconds, then counted
    for name in ("gpskb.api", "uvicorn.error", "asyncio"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatFilter) for f in logger.filters):
            logger.addFilter(RepeatFilter())


def worker_app() -> FastAPI:
    """The application of one worker process of `gpskb serve --workers N` (uvicorn's factory): its own engine, warmed,
    from the policy and index folders the parent put in the environment."""
    _configure_logging()
    settings = Settings.from_env()
    engine = build_engine()
    engine.answer(WARMUP_QUESTION)
    log.info("worker %d ready", os.getpid())
    return create_app(engine, settings)


class HeaderTimeoutH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the first request's head: uvicorn times out only idle keep-alive
    connections (after a response), so a client that connects and sends nothing, or sends its headers a byte at a
    time, held the connection and its file descriptor for as long as it liked (3,000 such were held for 70 s). Closed
    after HEADER_TIMEOUT_S without a complete request head."""

    HEADER_TIMEOUT_S = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_deadline = self.loop.call_later(self.HEADER_TIMEOUT_S, self._no_request_head)

    def _no_request_head(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_deadline.cancel()
        super().connection_lost(exc)


def _uvicorn_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """What `serve` gives uvicorn, with one worker or several: the address, no access log (the request log is ours), and
    uvicorn's own bounds outside the API's admission — idle keep-alive connections closed after 5 s, a deadline for the
    request head (HeaderTimeoutH11), and a ceiling on open connections (beyond it uvicorn answers 503 itself) well above
    the admission limit, so /healthz is still reached when answers are being shed. Warns when it listens beyond this
    machine with no token."""
    if args.host not in ("127.0.0.1", "localhost", "::1") and not settings.token:
        log.warning("listening on %s without %s: anyone who can reach this port can use the API", args.host,
                    TOKEN_ENV)
    return {"host": args.host, "port": args.port, "access_log": False, "server_header": False,
            "timeout_graceful_shutdown": 10, "timeout_keep_alive": 5, "http": HeaderTimeoutH11,
            "limit_concurrency": max(256, 8 * settings.max_in_flight)}


def serve(args: argparse.Namespace) -> int:
    """`gpskb serve`: build the engine once, answer one question to warm it, run uvicorn until interrupted."""
    # One OpenMP thread for the embedder: set by the gpskb package for every entry point (gpskb/__init__.py). Measured
    # on the 2-core target with one core busy elsewhere: two threads spin-wait for each other and a query embedding
    # took 24-100 ms at p50 and 1.6-2.5 s at p95; one thread, 20 ms and 29 ms.
    import uvicorn

    _configure_logging()
    settings = Settings.from_env()
    workers = getattr(args, "workers", 1) or 1
    if workers > 1:
        return _serve_workers(args, settings, workers)
    t0 = time.perf_counter()
    engine = build_engine(getattr(args, "policy_dir", None), getattr(args, "index_dir", None))
    engine.answer(WARMUP_QUESTION)
    app = create_app(engine, settings)
    log.info("engine ready in %.1f s: %d documents, %d clauses, %d rules; token %s, CORS %s, question log %s",
             time.perf_counter() - t0, len(engine.kb.documents), len(engine.kb.clauses), len(engine.kb.rules),
             "required" if settings.token else "off", ", ".join(settings.cors_origins) or "off",
             "on" if settings.log_questions else "off")
    server = uvicorn.Server(uvicorn.Config(app, **_uvicorn_options(args, settings)))
    server.run()
    return 0


def _serve_workers(args: argparse.Namespace, settings: Settings, workers: int) -> int:
    """`gpskb serve --workers N`: N processes on one port, each with its own engine (each answers on one core; the
    embedder of one process serves one question at a time). The index is brought up to date once, first, so the
    workers never rebuild it side by side."""
    import uvicorn

    config.export(policy_dir=getattr(args, "policy_dir", None), index_dir=getattr(args, "index_dir", None))
    check = subprocess.run([sys.executable, "-m", "gpskb.cli", "index", "build", "--if-stale"], check=False)
    if check.returncode:
        return check.returncode
    options = _uvicorn_options(args, settings)
    log.info("starting %d worker processes", workers)
    uvicorn.run("gpskb.api.app:worker_app", factory=True, workers=workers, **options)
    return 0
