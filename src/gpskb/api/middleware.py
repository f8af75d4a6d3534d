"""Pure ASGI middleware: the request log, admission (load shedding), bearer auth, the body limit, the catch-all and JSON
CORS; and the rate limit on repeated log lines."""
from __future__ import annotations

import hmac
import json
import logging
import threading
import time

from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import _HTTP_ERRORS, _BodyTooLarge, _http_error, error_response
from .settings import _VERDICT_KEY, Settings

log = logging.getLogger("gpskb.api")

# ---------------------------------------------------------------------------------------------------------------
# Middleware (pure ASGI: no per-request task or body buffering, unlike BaseHTTPMiddleware)


class _ResponseWatch:
    """A `send` wrapper that records whether the response has started and with which status."""

    def __init__(self, send: Send) -> None:
        self.send, self.started, self.status = send, False, 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started, self.status = True, message["status"]
        await self.send(message)


class RequestLogMiddleware:
    """One log line per request: method, route template (or the escaped path when no route matched), status,
    latency and the verdict(s) an endpoint put in the scope. Headers, the token and the body are never logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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


class AdmissionMiddleware:
    """Load shedding: at most `max_in_flight` /api requests are being answered or waiting for a worker thread at once;
    one more is answered at once with 503 and `Retry-After` (a JSON error like every other) instead of queueing behind
    the others until every client times out. /healthz and the documentation pages are never counted or refused, and
    being `async` routes they run on the event loop, never behind answers in the thread pool."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limit = settings.max_in_flight
        self.in_flight = 0  # changed on the event loop only: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_api(scope.get("path", "")):
            return await self.app(scope, receive, send)
        if self.in_flight >= self.limit:
            response = _http_error(503, self.settings, headers={"Retry-After": str(self.settings.retry_after_s)})
            return await response(scope, receive, send)
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class RepeatFilter(logging.Filter):
    """At most `burst` records with the same logger and message template in `per_s` seconds; the rest are counted and
    the count is said with the next record let through. A server out of file descriptors logs the same accept error
    thousands of times a second: this keeps the log readable and the disk from filling."""

    def __init__(self, burst: int = 5, per_s: float = 10.0) -> None:
        super().__init__()
        self.burst, self.per_s = burst, per_s
        self._seen: dict[tuple[str, str], tuple[float, int, int]] = {}  # key → (window start, let through, dropped)
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        with self._lock:
            start, passed, dropped = self._seen.get(key, (now, 0, 0))
            if now - start >= self.per_s:
                start, passed = now, 0
            if passed >= self.burst:
                self._seen[key] = (start, passed, dropped + 1)
                return False
            self._seen[key] = (start, passed + 1, 0)
            if len(self._seen) > 1000:  # templates are few; a flood of distinct ones is not kept forever
                self._seen.clear()
        if dropped:
            record.msg = f"{record.msg} (and {dropped} more like it, not logged)"
        return True


class BearerAuthMiddleware:
    """When a token is configured, every /api request needs `Authorization: Bearer <token>`; anything else is a 401
    whose body says only "unauthorized" (未授权). The comparison is constant-time (hmac.compare_digest)."""

    def __init__(self, app: ASGIApp, token: str, settings: Settings) -> None:
        self.app = app
        self.expected = b"Bearer " + token.encode("utf-8")
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limit = settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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

        async def limited_receive() -> Message:
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

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
