"""The HTTP API (issue 7): the routes and their JSON contract, the error bodies, the bearer token, CORS, the body
limit, the request log and the question store, through FastAPI's TestClient on the session engine; and one test
against a real `gpskb serve` process over loopback."""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import stop_process
from fastapi.testclient import TestClient

from gpskb.api import MAX_BATCH, MAX_BODY_BYTES, Settings, create_app
from gpskb.api.models import AnswerOut
from gpskb.errors import SettingError

ROOT = Path(__file__).resolve().parents[1]
Q = "能否以劳务派遣方式通过政府购买服务用工？"
BAN = "caizong-2023-12/11"
FIXED = ["question", "verdict", "answer", "citations", "rules"]
EXTRAS = ["badge", "follow_ups", "facts", "timings_ms", "notes"]
CITATION = {"clause_id", "document", "label", "text", "score", "ref", "sentence", "span", "terms", "reason",
            "excerpt", "excerpt_note"}
TOKEN = "s3cret-Token-for-tests"
ORIGIN = "https://oa.example.gov.cn"


def client_for(engine, **settings) -> TestClient:
    return TestClient(create_app(engine, Settings(**settings)))


@pytest.fixture(scope="module")
def client(engine):
    return client_for(engine)


def assert_error(r, status: int, code: str | None = None) -> dict:
    """An error response: the status, a JSON body {"error": {code, message_zh, message_en}}, no stack trace."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message_zh"], str) and err["message_zh"].strip()
    assert isinstance(err["message_en"], str) and err["message_en"].strip()
    assert "Traceback" not in r.text and 'File "' not in r.text and ".py" not in r.text
    if code:
        assert err["code"] == code, err
    return err


# -- ask ---------------------------------------------------------------------------------------------------------


def test_ask_returns_the_answer_contract(client, engine):
    r = client.post("/api/v1/ask", json={"question": Q})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["verdict"] == "prohibited"
    assert body["citations"][0]["clause_id"] == BAN
    assert list(body)[:len(FIXED)] == FIXED  # the fixed contract fields first, in order
    assert set(EXTRAS) <= set(body)
    assert body["question"] == Q
    assert body["badge"] == "不得购买"
    assert body["answer"].splitlines()[1].startswith("结论：不得纳入政府购买服务范围")
    for c in body["citations"]:
        assert set(c) == CITATION
        assert isinstance(c["span"], list) and len(c["span"]) == 2
    assert body["citations"][0]["reason"] == "rule"
    assert any(rule["outcome"] == "prohibited" for rule in body["rules"])
    # the same object as the library's Answer.to_dict() (timings aside)
    expected = engine.answer(Q).to_dict()
    for key in FIXED + ["badge", "follow_ups", "facts", "notes"]:
        assert body[key] == json.loads(json.dumps(expected[key], ensure_ascii=False)), key


@pytest.mark.parametrize("question", ["", "   ", "劳务派遣\x00用工", "？？？！！"])
def test_ask_refused_question_is_422_with_the_library_message(client, question):
    err = assert_error(client.post("/api/v1/ask", json={"question": question}), 422, "invalid_question")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message_zh"])
    assert err["message_en"].isascii()


def test_ask_too_long_question_is_422(client, engine):
    r = client.post("/api/v1/ask", json={"question": "劳" * (engine.max_chars + 1)})
    err = assert_error(r, 422, "invalid_question")
    assert str(engine.max_chars) in err["message_en"]


def test_ask_unknown_fact_is_422(client):
    assert_error(client.post("/api/v1/ask", json={"question": Q, "facts": ["no_such_fact"]}), 422,
                 "invalid_question")


# -- batch -------------------------------------------------------------------------------------------------------


def test_batch_keeps_order_and_a_bad_item_does_not_stop_it(client, engine):
    questions = [Q, "", "养老服务可以通过政府购买服务方式购买吗？", None, "劳务派遣可以买吗"]
    r = client.post("/api/v1/ask/batch", json={"questions": questions})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == len(questions)
    assert [x["question"] for x in results] == [Q, "", questions[2], "null", questions[4]]
    assert results[0]["verdict"] == "prohibited" and results[0]["citations"][0]["clause_id"] == BAN
    assert set(results[1]) == {"question", "error"} and "empty" in results[1]["error"]
    assert set(results[3]) == {"question", "error"} and "text" in results[3]["error"]
    for i in (2, 4):
        assert results[i]["verdict"] == engine.answer(questions[i]).verdict
        assert list(results[i])[:len(FIXED)] == FIXED


def test_batch_accepts_the_maximum_and_refuses_one_more(client):
    r = client.post("/api/v1/ask/batch", json={"questions": [Q] * MAX_BATCH})
    assert r.status_code == 200
    assert [x["verdict"] for x in r.json()["results"]] == ["prohibited"] * MAX_BATCH
    err = assert_error(client.post("/api/v1/ask/batch", json={"questions": [Q] * (MAX_BATCH + 1)}), 422,
                       "invalid_request")
    assert "questions" in err["message_en"]


def test_batch_empty_list_gives_no_results(client):
    r = client.post("/api/v1/ask/batch", json={"questions": []})
    assert r.status_code == 200 and r.json() == {"results": []}


def test_identical_concurrent_questions_are_answered_once(engine):
    calls = []

    class Slow:  # the real engine, slowed down so that the requests overlap
        kb, index = engine.kb, engine.index

        def answer(self, question, facts=()):
            calls.append(question)
            time.sleep(1.0)
            return engine.answer(question, facts)

    c = client_for(Slow())
    other = "养老服务可以通过政府购买服务方式购买吗？"
    with ThreadPoolExecutor(6) as pool:
        rs = list(pool.map(lambda q: c.post("/api/v1/ask", json={"question": q}), [Q] * 5 + [other]))
    assert [r.status_code for r in rs] == [200] * 6
    assert [r.json()["verdict"] for r in rs[:5]] == ["prohibited"] * 5
    assert rs[5].json()["question"] == other
    assert sorted(calls) == sorted([Q, other])  # five identical requests, one computation


# -- clauses -----------------------------------------------------------------------------------------------------


def test_clause_list(client, kb):
    r = client.get("/api/v1/clauses")
    assert r.status_code == 200
    body = r.json()
    assert [c["id"] for c in body["clauses"]] == list(kb.clauses)
    ban = next(c for c in body["clauses"] if c["id"] == BAN)
    assert ban == {"id": BAN, "document": "caizong-2023-12", "document_number": "财综〔2023〕12号",
                   "label": "（十一）严禁变相用工", "kind": "item", "excerpt": False, "excerpt_note": None}
    docs = {d["id"]: d for d in body["documents"]}
    assert set(docs) == set(kb.documents)
    for doc in kb.documents.values():
        assert docs[doc.id]["excerpt"] is doc.excerpt
        assert docs[doc.id]["number"] == doc.number
    # every clause of an excerpted document says so, with the note
    for c in body["clauses"]:
        doc = kb.documents[c["document"]]
        assert c["excerpt"] is doc.excerpt
        assert c["excerpt_note"] == (doc.excerpt_note if doc.excerpt else None)
        if doc.excerpt:
            assert "节选" in c["excerpt_note"]


def test_clause_list_of_one_document(client, kb):
    r = client.get("/api/v1/clauses", params={"document": "caizong-2023-12"})
    assert r.status_code == 200
    body = r.json()
    assert [d["id"] for d in body["documents"]] == ["caizong-2023-12"]
    assert [c["id"] for c in body["clauses"]] == [c.id for c in kb.clauses.values() if c.document == "caizong-2023-12"]
    err = assert_error(client.get("/api/v1/clauses", params={"document": "caizong-2099"}), 404, "unknown_document")
    assert "caizong-2099" in err["message_en"]


@pytest.mark.parametrize("path", [f"/api/v1/clauses/{BAN}", "/api/v1/clauses/caizong-2023-12%2F11"])
def test_one_clause_with_a_slash_in_its_id(client, kb, path):
    r = client.get(path)
    assert r.status_code == 200
    body = r.json()
    clause = kb.clauses[BAN]
    assert body["id"] == BAN and body["text"] == clause.text and body["label"] == clause.label
    assert body["document_number"] == "财综〔2023〕12号" and body["ref"] == "第（十一）项"
    assert body["excerpt"] is False and body["excerpt_note"] is None


def test_clause_of_an_excerpted_document_carries_the_note(client, kb):
    excerpted = [c for c in kb.clauses.values() if kb.document_of(c).excerpt]
    if not excerpted:
        pytest.skip("no excerpted document in the knowledge base")
    r = client.get(f"/api/v1/clauses/{excerpted[0].id}")
    assert r.status_code == 200
    assert r.json()["excerpt"] is True and "节选" in r.json()["excerpt_note"]


def test_unknown_clause_is_404_with_near_matches(client):
    err = assert_error(client.get("/api/v1/clauses/caizong-2023-12/111"), 404, "unknown_clause")
    assert BAN in err["suggestions"]
    assert BAN in err["message_zh"] and BAN in err["message_en"]


# -- health ------------------------------------------------------------------------------------------------------


def test_healthz_ok(client, kb, engine):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["index"]["corpus_hash"] == kb.corpus_hash
    assert body["index"]["embedder"]["id"] == engine.index.embedder.id
    assert body["clauses"] == len(kb.clauses) and body["documents"] == len(kb.documents)


@pytest.mark.parametrize("key, value", [("corpus_hash", "0" * 64), ("embedder", {"id": "other", "version": "9"})])
def test_healthz_503_when_the_index_does_not_match(client, engine, monkeypatch, key, value):
    monkeypatch.setitem(engine.index.manifest, key, value)
    r = client.get("/healthz")
    err = assert_error(r, 503, "index_stale")
    assert r.json()["status"] == "stale"
    assert ("policy" in err["message_en"]) if key == "corpus_hash" else ("embedder" in err["message_en"])


# -- the bearer token --------------------------------------------------------------------------------------------

UNAUTHORIZED = {"error": {"code": "unauthorized", "message_zh": "未授权", "message_en": "unauthorized"}}


@pytest.fixture(scope="module")
def locked(engine):
    return client_for(engine, token=TOKEN)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}x"},
                                     {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"},
                                     {"Authorization": "Bearer "}])
@pytest.mark.parametrize("method, path", [("POST", "/api/v1/ask"), ("POST", "/api/v1/ask/batch"),
                                          ("GET", "/api/v1/clauses"), ("GET", f"/api/v1/clauses/{BAN}"),
                                          ("GET", "/api/v1/no-such-route")])
def test_api_routes_need_the_token(locked, headers, method, path):
    body = {"questions": [Q]} if path.endswith("batch") else {"question": Q}
    r = locked.request(method, path, headers=headers, json=body if method == "POST" else None)
    assert r.status_code == 401
    assert r.json() == UNAUTHORIZED  # the same body whatever was wrong: nothing to learn from it
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in r.text


def test_right_token_is_accepted(locked):
    r = locked.post("/api/v1/ask", json={"question": Q}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["verdict"] == "prohibited"
    r = locked.get(f"/api/v1/clauses/{BAN}", headers={"Authorization": f"bearer {TOKEN}"})  # scheme is caseless
    assert r.status_code == 200


def test_health_and_docs_need_no_token(locked):
    assert locked.get("/healthz").status_code == 200
    assert locked.get("/docs").status_code == 200
    schema = locked.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/ask"]["post"]["security"] == [{"bearerAuth": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_docs_page_loads_swagger_ui_from_this_server_not_a_cdn(locked):
    """An intranet has no CDN: /docs refers only to this server's own files, and they are served without a token."""
    html = locked.get("/docs").text
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    for a in assets:
        assert a.startswith("/"), f"/docs loads {a} from elsewhere"
        r = locked.get(a)
        assert r.status_code == 200 and len(r.content) > 1000, a


# every kind of answer: a ban, an allowed area, a follow-up, a general test, English, out of scope, a form's facts
CONTRACT_CASES = [
    {"question": Q},
    {"question": "民政局想购买居家养老上门服务，可以吗？"},
    {"question": "我们想请一家公司派人来单位做保洁，可以吗？"},
    {"question": "Can the county buy a survey of residents' satisfaction with bus routes?"},
    {"question": "个人所得税的专项附加扣除怎么填？"},
    {"question": "办公楼物业服务合同能签几年？"},
    {"question": "我们想请一家公司派人来单位做保洁，可以吗？", "facts": ["by_results"]},
]


@pytest.mark.parametrize("body", CONTRACT_CASES, ids=range(len(CONTRACT_CASES)))
def test_every_answer_validates_against_the_published_response_model(client, engine, body):
    """AnswerOut (the OpenAPI schema of /ask) declares every field the library writes, with extra fields
    forbidden: an answer the model does not describe fails here, so the published contract cannot drift."""
    r = client.post("/api/v1/ask", json=body)
    assert r.status_code == 200
    AnswerOut.model_validate(r.json())
    assert set(AnswerOut.model_fields) == set(engine.answer(body["question"]).to_dict())


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_body_not_in_utf8_is_refused_not_answered(client, encoding):
    body = json.dumps({"question": Q}, ensure_ascii=False).encode(encoding)
    for path in ("/api/v1/ask", "/api/v1/ask/batch"):
        r = client.post(path, content=body if path.endswith("ask") else json.dumps(
            {"questions": [Q]}, ensure_ascii=False).encode(encoding), headers={"content-type": "application/json"})
        assert_error(r, 422, "invalid_encoding")
    ok = client.post("/api/v1/ask", content=json.dumps({"question": Q}, ensure_ascii=False).encode("utf-8"),
                     headers={"content-type": "application/json"})
    assert ok.status_code == 200


def test_openapi_documents_the_routes(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/v1/ask", "/api/v1/ask/batch", "/api/v1/clauses", "/api/v1/clauses/{clause_id}", "/healthz"} \
        <= set(schema["paths"])
    assert "securitySchemes" not in schema.get("components", {})  # no token configured
    assert "ErrorOut" in json.dumps(schema["paths"]["/api/v1/ask"]["post"]["responses"]["422"])


# -- body limit and malformed requests ---------------------------------------------------------------------------


def test_body_over_64_kb_is_413(client):
    body = json.dumps({"question": "劳务派遣" * 6000}, ensure_ascii=False).encode()  # ~70 KB
    assert len(body) > 70_000
    err = assert_error(client.post("/api/v1/ask", content=body, headers={"Content-Type": "application/json"}), 413,
                       "payload_too_large")
    assert "64 KB" in err["message_zh"]


def test_chunked_body_over_64_kb_is_413(client):
    def chunks():  # no Content-Length: the bytes are counted as they arrive
        yield b'{"question": "'
        for _ in range(70):
            yield b"x" * 1024
        yield b'"}'

    r = client.post("/api/v1/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_error(r, 413, "payload_too_large")


def test_body_under_the_limit_is_not_413(client):
    body = json.dumps({"question": "x" * (MAX_BODY_BYTES - 100)}).encode()
    r = client.post("/api/v1/ask", content=body, headers={"Content-Type": "application/json"})
    assert_error(r, 422, "invalid_question")  # too long a question, but the body itself was accepted


@pytest.mark.parametrize("content", [b'{"question": ', b"not json", b'{"question": "a",}'])
def test_malformed_json_is_422(client, content):
    err = assert_error(client.post("/api/v1/ask", content=content, headers={"Content-Type": "application/json"}),
                       422, "invalid_json")
    assert "JSON" in err["message_zh"]


def test_body_not_in_utf8_is_422(client):
    body = json.dumps({"question": Q}, ensure_ascii=False).encode("gbk")
    assert_error(client.post("/api/v1/ask", content=body, headers={"Content-Type": "application/json"}), 422,
                 "invalid_json")


def test_lone_surrogate_is_refused_not_a_500(client):
    body = b'{"question": "\\ud800\\u52b3\\u52a1\\u6d3e\\u9063"}'  # valid JSON, not representable in UTF-8
    err = assert_error(client.post("/api/v1/ask", content=body, headers={"Content-Type": "application/json"}), 422,
                       "invalid_question")
    assert "lone surrogates" in err["message_en"]
    r = client.post("/api/v1/ask/batch", content=b'{"questions": ["\\ud800", "%s"]}' % Q.encode(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    first, second = r.json()["results"]
    assert first["question"] == "\ud800" and "lone surrogates" in first["error"]
    assert second["verdict"] == "prohibited"


@pytest.mark.parametrize("path, body, where", [
    ("/api/v1/ask", {"question": 123}, "question"),
    ("/api/v1/ask", {"question": ["a"]}, "question"),
    ("/api/v1/ask", {"q": Q}, "q"),
    ("/api/v1/ask", {"question": Q, "extra": 1}, "extra"),
    ("/api/v1/ask", [Q], "body"),
    ("/api/v1/ask", {"question": Q, "facts": "by_results"}, "facts"),
    ("/api/v1/ask/batch", {"questions": Q}, "questions"),
    ("/api/v1/ask/batch", {"question": Q}, "questions"),
])
def test_wrong_field_is_422(client, path, body, where):
    err = assert_error(client.post(path, json=body), 422, "invalid_request")
    assert where in err["message_en"]
    assert all(set(d) == {"loc", "type", "msg"} for d in err["details"])  # the input is never echoed back


def test_unknown_route_and_wrong_method_are_json(client):
    assert_error(client.get("/nope"), 404, "not_found")
    r = client.get("/api/v1/ask")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "POST"


def test_server_error_is_json_without_details(engine, caplog):
    class Broken:
        kb, index = engine.kb, engine.index

        def answer(self, question, facts=()):
            raise RuntimeError("secret internal detail")

    c = client_for(Broken())
    with caplog.at_level("ERROR", logger="gpskb.api"):
        r = c.post("/api/v1/ask", json={"question": Q})
    err = assert_error(r, 500, "internal_error")
    assert "secret" not in r.text
    assert err["message_en"] == "internal server error"
    assert any(rec.exc_info and "secret internal detail" in str(rec.exc_info[1]) for rec in caplog.records)
    # in a batch, the broken item is reported and the request still succeeds
    r = c.post("/api/v1/ask/batch", json={"questions": [Q, Q]})
    assert r.status_code == 200
    assert [x["error"] for x in r.json()["results"]] == ["服务器内部错误 / internal error"] * 2


# -- CORS --------------------------------------------------------------------------------------------------------


def test_no_cors_headers_by_default(client):
    r = client.get(f"/api/v1/clauses/{BAN}", headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers


def test_cors_header_only_for_an_allowed_origin(engine):
    c = client_for(engine, cors_origins=(ORIGIN,), token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = c.post("/api/v1/ask", json={"question": Q}, headers={"Origin": ORIGIN, **auth})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ORIGIN
    r = c.post("/api/v1/ask", json={"question": Q}, headers={"Origin": "https://evil.example.com", **auth})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    # the browser's preflight carries no token and is answered by the CORS layer
    pre = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization, content-type"}
    r = c.options("/api/v1/ask", headers=pre)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in r.headers["access-control-allow-methods"]
    r = c.options("/api/v1/ask", headers={**pre, "Origin": "https://evil.example.com"})
    assert_error(r, 400, "cors_rejected")
    assert "access-control-allow-origin" not in r.headers
    # a 401 is readable by the allowed origin (so a browser client can tell the user to log in)
    r = c.post("/api/v1/ask", json={"question": Q}, headers={"Origin": ORIGIN})
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == ORIGIN


# -- settings, request log, question store -----------------------------------------------------------------------


def test_settings_from_environment(monkeypatch):
    for name in ("GPSKB_API_TOKEN", "GPSKB_CORS_ORIGINS", "GPSKB_LOG_QUESTIONS"):
        monkeypatch.delenv(name, raising=False)
    d = Settings.from_env()
    assert (d.token, d.cors_origins, d.log_questions) == (None, (), False)
    monkeypatch.setenv("GPSKB_API_TOKEN", "  tok  ")
    monkeypatch.setenv("GPSKB_CORS_ORIGINS", f" {ORIGIN}/ , http://localhost:8501,,")
    monkeypatch.setenv("GPSKB_LOG_QUESTIONS", "1")
    s = Settings.from_env()
    assert s.token == "tok"
    assert s.cors_origins == (ORIGIN, "http://localhost:8501")
    assert s.log_questions is True
    monkeypatch.setenv("GPSKB_LOG_QUESTIONS", "0")
    assert Settings.from_env().log_questions is False
    # a token set but empty or blank would have turned authentication off without a word: it is refused, naming the
    # variable (for other variables an empty one is as if unset)
    for blank in ("", "  ", "\t"):
        monkeypatch.setenv("GPSKB_API_TOKEN", blank)
        with pytest.raises(SettingError, match="GPSKB_API_TOKEN.*set but blank"):
            Settings.from_env()


def test_serve_refuses_to_start_with_a_blank_token(monkeypatch, capsys):
    from gpskb import cli

    monkeypatch.setenv("GPSKB_API_TOKEN", "   ")
    assert cli.main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "GPSKB_API_TOKEN" in err and len(err.strip().splitlines()) == 1
    # …while every other command (gpskb ask, the app) reads it as unset and works
    from gpskb import config

    assert config.settings().token is None
    assert cli.main(["clauses"]) == 0


def test_each_request_is_logged_once_without_token_or_question(engine, caplog):
    c = client_for(engine, token=TOKEN)
    with caplog.at_level("INFO", logger="gpskb.api"):
        c.post("/api/v1/ask", json={"question": Q}, headers={"Authorization": f"Bearer {TOKEN}"})
        c.post("/api/v1/ask", json={"question": Q}, headers={"Authorization": "Bearer wrong-token"})
        c.get("/api/v1/clauses/caizong-2023-12/111", headers={"Authorization": f"Bearer {TOKEN}"})
        c.post("/api/v1/ask/batch", json={"questions": [Q, ""]}, headers={"Authorization": f"Bearer {TOKEN}"})
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "gpskb.api"]
    assert len(lines) == 4
    assert lines[0].startswith("POST /api/v1/ask 200 ") and lines[0].endswith("verdict=prohibited")
    assert lines[1].startswith("POST /api/v1/ask 401 ") and "verdict" not in lines[1]
    assert lines[2].startswith("GET /api/v1/clauses/{clause_id:path} 404 ")
    assert lines[3].startswith("POST /api/v1/ask/batch 200 ") and lines[3].endswith("verdict=error:1,prohibited:1")
    text = "\n".join(lines)
    assert TOKEN not in text and "wrong-token" not in text and "Bearer" not in text and Q not in text
    assert all(" ms" not in line and "ms" in line for line in lines)


def test_questions_are_stored_only_when_enabled(engine, tmp_path):
    path = tmp_path / "store.sqlite3"
    client_for(engine, store_path=str(path)).post("/api/v1/ask", json={"question": Q})
    assert not path.exists()  # off by default
    c = client_for(engine, log_questions=True, store_path=str(path))
    c.post("/api/v1/ask", json={"question": Q})
    c.post("/api/v1/ask/batch", json={"questions": ["", "养老服务可以买吗？"]})
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT question, verdict, citations, source FROM questions ORDER BY id").fetchall()
    assert [(q, v, s) for q, v, _, s in rows] == [(Q, "prohibited", "api"),
                                                  ("养老服务可以买吗？", engine.answer("养老服务可以买吗？").verdict, "api")]
    assert json.loads(rows[0][2])[0] == BAN


# -- a real server -----------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(tmp_path: Path, env: dict, *extra: str) -> tuple[subprocess.Popen, str, Path]:
    """`gpskb serve` as a subprocess on a free port, on a copy of the committed index in tmp_path (index/ is never
    touched and the start does not wait on a rebuild), its output in tmp_path/serve.log."""
    shutil.copytree(ROOT / "index", tmp_path / "index")
    port = _free_port()
    exe = Path(sys.executable).with_name("gpskb")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "gpskb.cli"]
    cmd += ["--policy-dir", str(ROOT / "policy"), "--index-dir", str(tmp_path / "index"),
            "serve", "--host", "127.0.0.1", "--port", str(port), *extra]
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}", log_path


@pytest.mark.slow
def test_real_server_over_http(tmp_path):
    """`gpskb serve` as a subprocess (on a copy of the committed index in tmp_path, so index/ is never touched and
    the start does not wait on a rebuild), asked over loopback with httpx, then stopped with SIGTERM."""
    env = {**os.environ, "GPSKB_API_TOKEN": TOKEN, "GPSKB_LOG_QUESTIONS": "0"}
    env.pop("GPSKB_CORS_ORIGINS", None)
    proc, url, log_path = _start_server(tmp_path, env)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"server exited: {log_path.read_text()}"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"server not ready: {log_path.read_text()}"
            time.sleep(0.2)

        # a client that connects and sends nothing, and one that sends half a request head, are closed by the
        # server after HeaderTimeoutH11.HEADER_TIMEOUT_S (checked at the end)
        port = int(url.rsplit(":", 1)[1])
        opened = time.monotonic()
        idle = socket.create_connection(("127.0.0.1", port))
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"POST /api/v1/ask HTTP/1.1\r\nHost: localhost\r\n")

        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, timeout=30) as http:
            r = http.post("/api/v1/ask", json={"question": Q}, headers=auth)
            assert r.status_code == 200
            assert r.json()["verdict"] == "prohibited" and r.json()["citations"][0]["clause_id"] == BAN
            assert http.post("/api/v1/ask", json={"question": Q}).json() == UNAUTHORIZED
            r = http.post("/api/v1/ask", content=(b"x" * 1024 for _ in range(70)), headers=auth)
            assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
            assert http.get("/openapi.json").status_code == 200

        async def concurrently():
            async with httpx.AsyncClient(base_url=url, headers=auth, timeout=60) as http:
                qs = [Q, "养老服务可以买吗？", "劳务派遣可以买吗"] * 4
                rs = await asyncio.gather(*(http.post("/api/v1/ask", json={"question": q}) for q in qs))
                return qs, rs

        qs, rs = asyncio.run(concurrently())
        assert all(r.status_code == 200 for r in rs)
        verdicts = {}
        for q, r in zip(qs, rs, strict=False):
            assert r.json()["question"] == q
            verdicts.setdefault(q, set()).add(r.json()["verdict"])
        assert all(len(v) == 1 for v in verdicts.values())  # the shared engine answers alike under concurrency
        from gpskb.api.app import HeaderTimeoutH11

        time.sleep(max(0.0, HeaderTimeoutH11.HEADER_TIMEOUT_S + 1.5 - (time.monotonic() - opened)))
        for sock in (idle, slow):
            sock.settimeout(5)
            try:  # closed by the server: end of stream (an open one would time out here)
                data = sock.recv(4096)
                assert data == b"" or data.startswith(b"HTTP/1.1 "), data
            except ConnectionResetError:
                pass
            sock.close()
    finally:
        stop_process(proc, 20)
    log_text = log_path.read_text(encoding="utf-8")
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal so the exit status says what stopped it
    assert proc.returncode in (0, -signal.SIGTERM), log_text
    assert "Finished server process" in log_text
    assert "POST /api/v1/ask 200 " in log_text and "verdict=prohibited" in log_text
    assert "POST /api/v1/ask 401 " in log_text and "POST /api/v1/ask 413 " in log_text
    assert TOKEN not in log_text and Q not in log_text


# -- bounded cost: admission, repeated log lines, worker processes ----------------------------------------------------


def test_requests_beyond_the_admission_limit_get_503_with_retry_after(engine, monkeypatch):
    """With one place (GPSKB_MAX_IN_FLIGHT=1) and a slow answer, a second /api request at the same moment is refused at
    once with 503, Retry-After and a JSON error; /healthz is answered all along; the place is free again afterwards."""
    answer = engine.answer

    def slow(*args, **kwargs):
        time.sleep(0.8)
        return answer(*args, **kwargs)

    monkeypatch.setattr(engine, "answer", slow)
    app = create_app(engine, Settings(max_in_flight=1))

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as http:
            first = asyncio.create_task(http.post("/api/v1/ask", json={"question": "保洁服务第一问可以买吗？"}))
            await asyncio.sleep(0.2)  # the first is being answered
            second = await http.post("/api/v1/ask", json={"question": "保洁服务第二问可以买吗？"})
            health = await http.get("/healthz")
            return await first, second, health

    first, second, health = asyncio.run(scenario())
    assert first.status_code == 200
    err = assert_error(second, 503, "unavailable")
    assert second.headers["Retry-After"] == "1" and "重试" in err["message_zh"]
    assert health.status_code == 200
    monkeypatch.setattr(engine, "answer", answer)
    with TestClient(app) as c:
        assert c.post("/api/v1/ask", json={"question": "保洁服务第三问可以买吗？"}).status_code == 200


def test_a_repeated_log_line_is_counted_not_repeated():
    import logging

    from gpskb.api.middleware import RepeatFilter

    logger = logging.getLogger("gpskb.test.flood")
    logger.propagate = False
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger.addHandler(Keep())
    logger.addFilter(RepeatFilter(burst=3, per_s=0.3))
    for _ in range(1000):
        logger.error("accept failed: %s", "Too many open files")
    logger.error("another line")
    assert len(records) == 4 and records[-1] == "another line"
    time.sleep(0.35)
    logger.error("accept failed: %s", "Too many open files")
    assert records[-1] == "accept failed: Too many open files (and 997 more like it, not logged)"


@pytest.mark.slow
def test_serve_with_two_workers(tmp_path):
    """`gpskb serve --workers 2`: two processes, each with its own engine, answer on one port; SIGTERM stops them all."""
    import psutil

    env = {k: v for k, v in os.environ.items() if k not in ("GPSKB_API_TOKEN", "GPSKB_CORS_ORIGINS")}
    proc, url, log_path = _start_server(tmp_path, env, "--workers", "2")
    port = url.rsplit(":", 1)[1]
    try:
        deadline = time.monotonic() + 180
        while len(re.findall(r"worker \d+ ready", log_path.read_text(encoding="utf-8"))) < 2 or not _healthy(url):
            assert proc.poll() is None, f"server exited: {log_path.read_text()}"
            assert time.monotonic() < deadline, f"workers not ready: {log_path.read_text()}"
            time.sleep(0.3)
        # (an engine is ~200 MB; uvicorn's supervisor and multiprocessing's helpers are small)
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
                   if p.is_running() and p.memory_info().rss > 100 * 2**20]
        assert len(workers) == 2, [p.cmdline() for p in psutil.Process(proc.pid).children(recursive=True)]
        with httpx.Client(base_url=url, timeout=30) as http:
            rs = [http.post("/api/v1/ask", json={"question": q}) for q in (Q, "养老服务可以买吗？") * 3]
        assert all(r.status_code == 200 for r in rs)
        assert rs[0].json()["verdict"] == "prohibited" and rs[1].json()["verdict"] == "allowed"
    finally:
        stop_process(proc, 30)
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(port) in " ".join(p.info["cmdline"] or [])]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_two_api_processes_and_the_app_share_one_postgresql_store(tmp_path, postgres):
    """Two `gpskb serve` processes (as two machines behind a load balancer would run) log every question to one
    PostgreSQL store while the app's store code writes feedback to it at the same time: every acknowledged write is
    there, once."""
    from gpskb.store import Store

    url = postgres.new_database()
    env = {k: v for k, v in os.environ.items() if k not in ("GPSKB_API_TOKEN", "GPSKB_CORS_ORIGINS")}
    env.update(GPSKB_STORE=url, GPSKB_LOG_QUESTIONS="1")
    servers = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        servers.append(_start_server(tmp_path / name, env))
    try:
        deadline = time.monotonic() + 180
        for proc, base, log_path in servers:
            while not _healthy(base):
                assert proc.poll() is None, f"server exited: {log_path.read_text()}"
                assert time.monotonic() < deadline, f"server not ready: {log_path.read_text()}"
                time.sleep(0.2)

        async def ask_all():
            async with httpx.AsyncClient(timeout=60) as http:
                reqs = [http.post(f"{servers[i % 2][1]}/api/v1/ask", json={"question": f"第{i}个问题：保洁服务可以买吗？"})
                        for i in range(60)]
                return await asyncio.gather(*reqs)

        def feedback() -> int:
            store = Store(url)
            return sum(store.add_feedback(f"反馈 {i}", "allowed", [], 1) > 0 for i in range(30))

        with ThreadPoolExecutor(1) as pool:
            written = pool.submit(feedback)
            responses = asyncio.run(ask_all())
            assert written.result() == 30
        assert all(r.status_code == 200 for r in responses)
    finally:
        for proc, _, _ in servers:
            stop_process(proc, 20)
    from sqlalchemy import select

    from gpskb.store import QUESTIONS

    store = Store(url)
    assert store.count("questions") == 60 and store.count("feedback") == 30
    with store.engine.connect() as conn:
        rows = [(r.question, r.source) for r in conn.execute(select(QUESTIONS.c.question, QUESTIONS.c.source))]
    assert sorted(rows) == sorted((f"第{i}个问题：保洁服务可以买吗？", "api") for i in range(60))
