"""The store shared by the app and the API: feedback on answers (👍/👎 with a comment) and, behind a setting
(GPSKB_LOG_QUESTIONS), the questions asked; trainers' banks. Policy editors read the gaps from it: questions answered
out_of_scope or no_rule, and answers marked 👎, newest first.

Behind SQLAlchemy (Core): a SQLite file by default (GPSKB_STORE a path; embedded, nothing to run), or PostgreSQL
(GPSKB_STORE=postgresql://user:password@host/db) when several app or API replicas on several machines share one store.
The same tables and statements serve both; the schema is created when a store first opens (on PostgreSQL under an
advisory lock, so replicas starting together do not race).

Personal data: what people type may name someone. The file is created readable by its owner only (0600; SQLite gives
its -wal and -shm files the same mode); mobile and ID-card numbers are masked before a row is written (`mask`);
questions and feedback older than GPSKB_RETENTION_DAYS (default 180) are deleted when a store opens and then at most
hourly as rows are written, and `gpskb store purge` deletes them on demand. Trainers' banks are not personal data and
are kept until their trainer deletes them.

Concurrency: on SQLite, WAL mode, a busy timeout, and one short-lived connection per call, so two people submitting at
once both land (SQLite serialises the writes; nothing is lost); on PostgreSQL, a connection pool and the server's own
transactions.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateIndex, CreateTable

from . import config
from .jsontypes import JSON

if TYPE_CHECKING:
    from .bank.items import BankItem

MAX_TEXT = 4000
MAX_NAME = 100
#: what a failing store raises (a caller that must go on without it catches these)
STORE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, sqlite3.Error, OSError)

META = MetaData()


def _answered(*columns: Column[Any]) -> list[Column[Any]]:
    """The columns of a row about one answer (a logged question, a feedback): id, when, the question, the verdict and
    its clause ids (JSON), then `columns`, then where it came from (app, api)."""
    return [Column("id", Integer, primary_key=True, autoincrement=True),
            Column("created_at", String(40), nullable=False),
            Column("question", Text, nullable=False),
            Column("verdict", String(40), nullable=False),
            Column("citations", Text, nullable=False),  # JSON list of clause ids
            *columns,
            Column("source", String(20), nullable=False, server_default="app")]


# (sqlite_autoincrement: ids are never reused, as in the tables SQLite stores made before SQLAlchemy)
FEEDBACK = Table(
    "feedback", META,
    *_answered(Column("rating", Integer, CheckConstraint("rating IN (-1, 1)", name="feedback_rating_value"),
                      nullable=False),
               Column("comment", Text, nullable=False, server_default="")),
    Index("feedback_rating", "rating", "created_at"),
    sqlite_autoincrement=True)
QUESTIONS = Table(
    "questions", META, *_answered(), Index("questions_verdict", "verdict", "created_at"), sqlite_autoincrement=True)
BANKS = Table(
    "banks", META,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", String(40), nullable=False),
    Column("trainer", String(MAX_NAME), nullable=False),  # banks are kept per trainer
    Column("name", String(MAX_NAME), nullable=False),
    Column("filename", String(MAX_NAME), nullable=False, server_default=""),
    Column("n_items", Integer, nullable=False),
    Index("banks_trainer", "trainer", "created_at"),
    sqlite_autoincrement=True)
BANK_ITEMS = Table(
    "bank_items", META,
    Column("bank_id", Integer, ForeignKey("banks.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("item", Text, nullable=False))  # JSON of gpskb.bank.BankItem
PERSONAL = {"feedback": FEEDBACK, "questions": QUESTIONS}
#: PostgreSQL advisory lock held while the schema is created (any fixed number: only gpskb takes it)
_SCHEMA_LOCK = 0x67707362


PURGE_EVERY_S = 3600.0

# A mainland mobile number (11 digits from 13x–19x, optionally +86/0086 before it, spaces or dashes as people write
# them) keeps its first 3 and last 4 digits; a resident ID number (18 characters, the last a digit or X; or the old
# 15 digits) keeps its first 3 and last 4. Digits glued to other digits are not a number of either kind.
_MOBILE = re.compile(r"(?<![0-9])((?:\+?86[- ]?|0086[- ]?)?1[3-9][0-9])[- ]?([0-9]{4})[- ]?([0-9]{4})(?![0-9])")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{2})[0-9]{11}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])"
                      r"|(?<![0-9A-Za-z])([1-9][0-9]{2})[0-9]{8}([0-9]{4})(?![0-9A-Za-z])")


def mask(text: str) -> str:
    """`text` with mobile and ID-card numbers masked (13812345678 → 138****5678; an ID keeps 3 + 4 characters)."""
    text = _ID_CARD.sub(lambda m: (m[1] or m[3]) + "*" * (11 if m[1] else 8) + (m[2] or m[4]), text)
    return _MOBILE.sub(lambda m: f"{m[1]}****{m[3]}", text)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


#: how long a connection waits for another writer (sqlite3's timeout, SQLite's busy handler, the WAL switch's retries)
_BUSY_TIMEOUT_S = 30.0


class Store:
    """Feedback, question log and trainers' banks in one database: a SQLite file or a PostgreSQL server."""

    def __init__(self, path: str | os.PathLike[str] | None = None, retention_days: int | None = None):
        location = str(path) if path else config.store_location()
        self.retention_days = retention_days if retention_days is not None else config.settings().retention_days
        if self.retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self._purged_at = 0.0
        if config.is_url(location):
            url = make_url(location)
            if url.drivername in ("postgresql", "postgres"):
                url = url.set(drivername="postgresql+psycopg")
            self.location = url.render_as_string(hide_password=True)  # what messages show
            self.engine: Engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        else:
            self.location = location
            self._create_file(Path(location))
            # (sqlite3's timeout is SQLite's busy handler: every connection waits for another writer that long)
            self.engine = create_engine(f"sqlite:///{location}", poolclass=NullPool,
                                        connect_args={"timeout": _BUSY_TIMEOUT_S})
            raw = self.engine.raw_connection()
            try:
                self._wal(raw.driver_connection)
            finally:
                raw.close()
        self._create_schema()
        self.purged_on_open = self.purge()

    @staticmethod
    def _create_file(path: Path) -> None:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():  # created for its owner only; SQLite opens it as it is
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))

    def _create_schema(self) -> None:
        """The tables, if missing. PostgreSQL: under an advisory lock, so two replicas starting at once do not both
        create them; SQLite serialises it by its own write lock."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            # IF NOT EXISTS, statement by statement: a check-then-create would race another store opening the file
            for table in META.sorted_tables:
                conn.execute(CreateTable(table, if_not_exists=True))
                for index in sorted(table.indexes, key=lambda i: str(i.name)):
                    conn.execute(CreateIndex(index, if_not_exists=True))

    @staticmethod
    def _wal(db: Any, wait_s: float = _BUSY_TIMEOUT_S) -> None:
        """Put the file in WAL mode (it stays so). SQLite answers a switch tried while another connection is writing
        to the new file (its schema) with "database is locked" at once, without its busy handler: the switch is retried within the
        busy timeout every connection has (`_BUSY_TIMEOUT_S`), and skipped when another connection has already made it."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def purge(self, days: int | None = None) -> dict[str, int]:
        """Delete logged questions and feedback older than `days` (default: the retention period); the count per
        table. Runs by itself when the store opens and then at most hourly as rows are written."""
        days = self.retention_days if days is None else days
        if days < 0:
            raise ValueError("days must be 0 or more")
        cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")
        with self.engine.begin() as conn:
            counts = {name: conn.execute(delete(t).where(t.c.created_at < cutoff)).rowcount
                      for name, t in PERSONAL.items()}
        self._purged_at = time.monotonic()
        return counts

    def _purge_due(self) -> None:
        if time.monotonic() - self._purged_at >= PURGE_EVERY_S:
            self.purge()

    def add_feedback(self, question: str, verdict: str, citations: list[str], rating: int, comment: str = "",
                     source: str = "app") -> int:
        """Store one 👍 (rating 1) or 👎 (rating -1) with its optional comment; returns the row id."""
        if rating not in (-1, 1):
            raise ValueError("rating must be 1 (👍) or -1 (👎)")
        self._purge_due()
        with self.engine.begin() as conn:
            return _inserted(conn, FEEDBACK, created_at=_now(), question=mask(question[:MAX_TEXT]), verdict=verdict,
                             citations=json.dumps(list(citations)), rating=rating,
                             comment=mask((comment or "")[:MAX_TEXT]), source=source)

    def log_question(self, question: str, verdict: str, citations: list[str], source: str = "app") -> int:
        self._purge_due()
        with self.engine.begin() as conn:
            return _inserted(conn, QUESTIONS, created_at=_now(), question=mask(question[:MAX_TEXT]), verdict=verdict,
                             citations=json.dumps(list(citations)), source=source)

    def feedback(self, limit: int = 200) -> list[JSON]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(FEEDBACK).order_by(FEEDBACK.c.created_at.desc(), FEEDBACK.c.id.desc())
                                .limit(limit)).mappings()
            return [_row(r) for r in rows]

    def gaps(self, limit: int = 200) -> list[JSON]:
        """What policy editors should look at, newest first: questions answered out_of_scope or no_rule (from the
        question log and from feedback) and answers marked 👎."""
        with self.engine.connect() as conn:
            rows = conn.execute(text(
                """SELECT created_at, question, verdict, citations, source, 'unanswered' AS kind, '' AS comment
                     FROM questions WHERE verdict IN ('out_of_scope', 'no_rule')
                   UNION ALL
                   SELECT created_at, question, verdict, citations, source,
                          CASE WHEN rating < 0 THEN 'thumbs_down' ELSE 'unanswered' END AS kind, comment
                     FROM feedback WHERE rating < 0 OR verdict IN ('out_of_scope', 'no_rule')
                   ORDER BY created_at DESC LIMIT :limit"""), {"limit": limit}).mappings()
            return [_row(r) for r in rows]

    def count(self, table: str) -> int:
        """The rows of one of the store's tables (for checks and tests)."""
        t = META.tables[table]
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t)).scalar_one())

    # -- trainers' question banks (gpskb.bank) --------------------------------------------------------------------

    def add_bank(self, trainer: str, name: str, items: list[BankItem], filename: str = "") -> int:
        """Store a parsed bank for one trainer in one transaction: all its items or nothing. Returns the bank id."""
        trainer = _trainer(trainer)
        name = (name or filename or "题库").strip()[:MAX_NAME]
        if not items:
            raise ValueError("a bank needs at least one item")
        with self.engine.begin() as conn:
            bank_id = _inserted(conn, BANKS, created_at=_now(), trainer=trainer, name=name,
                                filename=filename[:MAX_NAME], n_items=len(items))
            conn.execute(insert(BANK_ITEMS), [
                {"bank_id": bank_id, "position": i, "item": json.dumps(it.to_dict(), ensure_ascii=False)}
                for i, it in enumerate(items)])
            return bank_id

    def banks(self, trainer: str) -> list[JSON]:
        """One trainer's banks, newest first: id, name, filename, created_at, n_items."""
        b = BANKS.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(b.id, b.name, b.filename, b.created_at, b.n_items)
                                .where(b.trainer == _trainer(trainer))
                                .order_by(b.created_at.desc(), b.id.desc())).mappings()
            return [dict(r) for r in rows]

    def bank_items(self, trainer: str, bank_id: int) -> list[BankItem]:
        """The items of one of this trainer's banks, in file order (empty for another trainer's bank)."""
        from .bank.items import BankItem

        i, b = BANK_ITEMS.c, BANKS.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(i.item).join_from(BANK_ITEMS, BANKS, i.bank_id == b.id)
                                .where(b.id == bank_id, b.trainer == _trainer(trainer)).order_by(i.position))
            return [BankItem(**json.loads(r.item)) for r in rows]

    def delete_bank(self, trainer: str, bank_id: int) -> bool:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(BANKS).where(BANKS.c.id == bank_id, BANKS.c.trainer == _trainer(trainer)))
            if gone.rowcount:
                conn.execute(delete(BANK_ITEMS).where(BANK_ITEMS.c.bank_id == bank_id))
            return bool(gone.rowcount)


def _inserted(conn: Connection, table: Table, **values: Any) -> int:
    """Insert one row and return its id."""
    key = conn.execute(insert(table).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def _trainer(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValueError("请填写培训师姓名或账号（题库按培训师分别保存）")
    if len(name) > MAX_NAME:
        raise ValueError(f"培训师姓名过长（上限 {MAX_NAME} 字）")
    return name


def _row(r: Any) -> JSON:
    d = dict(r)
    if "citations" in d:
        d["citations"] = json.loads(d["citations"])
    return d
