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
from .app import build_engine, create_app, serve
from .errors import ApiError, error_response, json_response
from .settings import API_PREFIX, MAX_BATCH, MAX_BODY_BYTES, MAX_FACTS, Settings

__all__ = ["API_PREFIX", "MAX_BATCH", "MAX_BODY_BYTES", "MAX_FACTS", "ApiError", "Settings", "build_engine", "create_app",
           "error_response", "json_response", "serve"]
