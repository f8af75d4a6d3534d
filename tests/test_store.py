"""Personal data in the store and who may read it: masking, the file's mode, retention and purge (gpskb.store), the
sign-in of 管理/缺口 (gpskb.admin) and the settings behind them. The store's concurrency is tested with the API
(tests/test_api.py) and its use by the pages with the app (tests/test_app.py)."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from gpskb import cli
from gpskb.admin import AdminAccess
from gpskb.config import settings
from gpskb.errors import SettingError
from gpskb.store import Store, mask


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("GPSKB_ADMIN_TOKEN", "GPSKB_ADMIN_PROXY_HEADER", "GPSKB_ADMIN_PROXY_ADDRESSES", "GPSKB_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("text", "masked"), [
    ("我的手机13812345678，请回电", "我的手机138****5678，请回电"),
    ("call +86 139-1234-5678 please", "call +86 139****5678 please"),
    ("电话 0086 15900001111", "电话 0086 159****1111"),
    ("身份证号110105199001011234", "身份证号110***********1234"),
    ("ID 11010519900101123x end", "ID 110***********123x end"),
    ("旧证号 110105900101123", "旧证号 110********1123"),
    # not a mobile or an ID: other digits, a landline, an amount, a longer run, a year
    ("合同金额12345678901元", "合同金额12345678901元"),
    ("座机 0755-12345678", "座机 0755-12345678"),
    ("流水号 2023123456789012345", "流水号 2023123456789012345"),
    ("2024年签了3年合同，金额 80 万", "2024年签了3年合同，金额 80 万"),
])
def test_mask(text, masked):
    assert mask(text) == masked


def test_store_masks_and_is_private(tmp_path):
    path = tmp_path / "new" / "gpskb.sqlite3"
    store = Store(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    store.log_question("张三 13812345678 问：食堂外包可以吗", "conditional", [])
    store.add_feedback("食堂外包可以吗", "conditional", [], -1, "身份证 110105199001011234，手机 13912345678")
    with closing(sqlite3.connect(path)) as db:
        text = " ".join(str(v) for row in db.execute("SELECT * FROM questions UNION ALL SELECT question, comment, "
                                                      "verdict, citations, source, id FROM feedback") for v in row)
    assert "13812345678" not in text and "110105199001011234" not in text and "13912345678" not in text
    assert "138****5678" in text and "110***********1234" in text
    for suffix in ("-wal", "-shm"):  # SQLite gives its side files the database's mode
        side = path.with_name(path.name + suffix)
        if side.exists():
            assert stat.S_IMODE(side.stat().st_mode) == 0o600


def _age(path, table: str, days: float) -> None:
    old = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"UPDATE {table} SET created_at = ?", (old,))  # noqa: S608 (a fixed table name)
        db.commit()


def _count(path, table: str) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608


def test_retention_purges_old_rows_on_open_and_on_demand(tmp_path, monkeypatch, capsys):
    path = tmp_path / "s.sqlite3"
    store = Store(path, retention_days=30)
    store.log_question("旧问题", "no_rule", [])
    store.add_feedback("旧反馈", "allowed", [], 1)
    _age(path, "questions", 31)
    _age(path, "feedback", 29)
    store.log_question("新问题", "no_rule", [])  # written within the hour: no purge yet
    assert _count(path, "questions") == 2
    reopened = Store(path, retention_days=30)  # opening purges
    assert reopened.purged_on_open == {"feedback": 0, "questions": 1}
    assert [g["question"] for g in reopened.gaps()] == ["新问题"]
    assert _count(path, "feedback") == 1
    # the default period comes from GPSKB_RETENTION_DAYS; `gpskb store purge --days N` deletes more now
    monkeypatch.setenv("GPSKB_STORE", str(path))
    monkeypatch.setenv("GPSKB_RETENTION_DAYS", "60")
    assert Store(path).retention_days == 60
    assert cli.main(["store", "purge", "--days", "7"]) == 0
    assert "deleted 0 logged questions and 1 feedback rows older than 7 days" in capsys.readouterr().out
    assert _count(path, "feedback") == 0 and _count(path, "questions") == 1
    assert cli.main(["store", "purge", "--days", "0"]) == 0
    assert _count(path, "questions") == 0
    assert cli.main(["store", "purge", "--days", "-1"]) == 2
    assert "--days" in capsys.readouterr().err
    Store(path).add_bank("王老师", "第一套", [_item()])
    _age(path, "banks", 400)
    assert cli.main(["store", "purge", "--days", "0"]) == 0
    assert len(Store(path).banks("王老师")) == 1  # banks are trainers' material, not personal data: kept


def _item():
    from gpskb.bank.items import BankItem

    return BankItem(row=2, type="判断", stem="题干", options={}, key="对")


@pytest.mark.parametrize(("value", "message"), [("0", "greater than or equal to 1"), ("abc", "valid integer")])
def test_retention_setting_is_checked(monkeypatch, value, message):
    monkeypatch.setenv("GPSKB_RETENTION_DAYS", value)
    with pytest.raises(SettingError, match=f"GPSKB_RETENTION_DAYS.*{message}"):
        settings()


def test_admin_password_is_compared_by_digest(monkeypatch):
    assert not AdminAccess.from_env().configured  # unset: closed
    monkeypatch.setenv("GPSKB_ADMIN_TOKEN", "s3cret")
    access = AdminAccess.from_env()
    assert access.configured and access.token_digest == hashlib.sha256(b"s3cret").digest()
    assert access.password_ok("s3cret") and not access.password_ok("s3cret ") and not access.password_ok("")
    monkeypatch.setenv("GPSKB_ADMIN_TOKEN", "sha256:" + hashlib.sha256("密码".encode()).hexdigest().upper())
    assert AdminAccess.from_env().password_ok("密码")
    for bad, message in (("sha256:abc", "64 hex digits"), ("", "set but blank"), ("  ", "set but blank")):
        monkeypatch.setenv("GPSKB_ADMIN_TOKEN", bad)
        with pytest.raises(SettingError, match=f"GPSKB_ADMIN_TOKEN.*{message}"):
            AdminAccess.from_env()


def test_admin_proxy_header_is_believed_only_from_the_proxy(monkeypatch):
    monkeypatch.setenv("GPSKB_ADMIN_PROXY_HEADER", "X-Remote-User")
    with pytest.raises(SettingError, match="GPSKB_ADMIN_PROXY_ADDRESSES"):
        AdminAccess.from_env()  # a header without the proxy's address would believe anyone
    monkeypatch.setenv("GPSKB_ADMIN_PROXY_ADDRESSES", "10.0.0.5, 10.1.0.0/24, localhost")
    access = AdminAccess.from_env()
    headers = {"x-remote-user": " 李四 ", "Host": "kb.intranet"}
    assert access.proxy_user(headers, "10.0.0.5") == "李四"
    assert access.proxy_user(headers, "10.1.0.77") == "李四"
    assert access.proxy_user(headers, None) == "李四"  # Streamlit reports this machine as no address
    assert access.proxy_user(headers, "10.0.0.6") is None
    assert access.proxy_user(headers, "not an address") is None
    assert access.proxy_user({"Host": "kb.intranet"}, "10.0.0.5") is None
    assert access.proxy_user({"X-Remote-User": "  "}, "10.0.0.5") is None
    assert not access.password_ok("anything")  # no password set: only the proxy opens the page
    monkeypatch.setenv("GPSKB_ADMIN_PROXY_ADDRESSES", "10.0.0.300")
    with pytest.raises(SettingError, match="GPSKB_ADMIN_PROXY_ADDRESSES.*10.0.0.300"):
        AdminAccess.from_env()


def test_store_path_is_not_world_readable_even_with_a_loose_umask(tmp_path):
    old = os.umask(0)
    try:
        Store(tmp_path / "u.sqlite3")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "u.sqlite3").stat().st_mode) == 0o600


# -- the same store on PostgreSQL (a real server: tests/conftest.py `postgres`) ---------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "s.sqlite3")
    return request.getfixturevalue("postgres").new_database()


def test_the_store_works_alike_on_sqlite_and_postgresql(location):
    store = Store(location, retention_days=30)
    assert store.location.startswith("postgresql+psycopg://") == location.startswith("postgresql")
    store.log_question("今天天气怎么样 13812345678", "out_of_scope", [])
    store.log_question("养老服务可以买吗", "allowed", ["caizong-2023-12/3"])
    fid = store.add_feedback("食堂外包可以吗", "conditional", ["caizong-2023-12/8"], -1, "缺少说明")
    assert fid >= 1
    assert [(g["kind"], g["question"]) for g in store.gaps()] == [
        ("thumbs_down", "食堂外包可以吗"), ("unanswered", "今天天气怎么样 138****5678")]
    assert store.feedback()[0]["citations"] == ["caizong-2023-12/8"]
    bank = Store(location).add_bank("王老师", "第一套", [_item(), _item()])
    assert [b["n_items"] for b in store.banks("王老师")] == [2] and len(store.bank_items("王老师", bank)) == 2
    assert store.bank_items("李老师", bank) == [] and not store.delete_bank("李老师", bank)
    assert store.delete_bank("王老师", bank) and store.count("bank_items") == 0
    assert store.purge(0) == {"feedback": 1, "questions": 2}
    with pytest.raises(ValueError):
        store.add_feedback("q", "allowed", [], 0)


def test_concurrent_writers_on_postgresql_lose_nothing(postgres):
    """Eight threads, each with its own Store on one PostgreSQL database (as eight replicas would be), write 50 rows
    each at once: all 400 are there; two stores opening a new database together both create its schema safely."""
    from concurrent.futures import ThreadPoolExecutor

    url = postgres.new_database()

    def write(k: int) -> list[int]:
        store = Store(url)
        return [store.log_question(f"问题 {k}-{i}", "no_rule", []) for i in range(50)]

    with ThreadPoolExecutor(8) as pool:
        ids = [i for batch in pool.map(write, range(8)) for i in batch]
    assert len(set(ids)) == 400 and Store(url).count("questions") == 400


def test_a_bad_postgresql_url_is_a_clear_error(postgres):
    from gpskb.store import STORE_ERRORS

    with pytest.raises(STORE_ERRORS) as exc:
        Store(postgres.url("no_such_database"))
    assert "no_such_database" in str(exc.value)
