"""JSON bodies and the API's errors: one shape, {"error": {"code", "message_zh", "message_en"}}, in both languages."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .settings import JSON, Settings

# ---------------------------------------------------------------------------------------------------------------
# JSON bodies and errors


def _dumps(obj: object) -> bytes:
    # the same encoding as Starlette's JSONResponse, without FastAPI's jsonable_encoder pass over a plain dict
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (valid in a JSON escape, not in UTF-8): escape everything
        return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def json_response(obj: object, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(_dumps(obj), status_code=status_code, media_type=JSON, headers=headers)


def error_response(status_code: int, code: str, message_zh: str, message_en: str,
                   headers: Mapping[str, str] | None = None, **extra: object) -> Response:
    return json_response({"error": {"code": code, "message_zh": message_zh, "message_en": message_en, **extra}},
                         status_code, headers)


class ApiError(Exception):
    """An error an endpoint answers with: status, code and the message in both languages (`extra`: more fields of
    the error's JSON, such as a 404's suggestions)."""

    def __init__(self, status_code: int, code: str, message_zh: str, message_en: str, **extra: Any) -> None:
        super().__init__(message_en)
        self.status_code, self.code, self.message_zh, self.message_en, self.extra = (
            status_code, code, message_zh, message_en, extra)


class _BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` when a streamed body passes the limit. An HTTPException, so FastAPI re-raises it
    from its body reader (any other exception there becomes a 400) and the handler turns it into a 413."""

    def __init__(self) -> None:
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


def _loc(err: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in err.get("loc", ())) or "body"


def _http_error(status_code: int, settings: Settings, headers: Mapping[str, str] | None = None) -> Response:
    code, zh, en = _HTTP_ERRORS.get(status_code, ("http_error", f"请求错误（{status_code}）",
                                                 f"HTTP error {status_code}"))
    if status_code == 413:
        kb = settings.max_body_bytes // 1024
        zh, en = f"{zh}（上限 {kb} KB）", f"{en} (limit {settings.max_body_bytes} bytes)"
    if status_code == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="gpskb"'}
    if status_code == 503 and headers and "Retry-After" in headers:  # shed: busy, not broken
        zh = f"服务繁忙，请 {headers['Retry-After']} 秒后重试"
        en = f"too many requests in progress; retry after {headers['Retry-After']} s"
    return error_response(status_code, code, zh, en, headers=headers)
