"""The SQLite store shared by the app and the API: feedback on answers (👍/👎 with a comment) and, behind a setting
(GPSKB_LOG_QUESTIONS), the questions asked. Policy editors read the gaps from it: questions answered out_of_scope or
no_rule, and answers marked 👎, newest first.

Personal data: what people type may name someone. The file is created readable by its owner only (0600; SQLite gives
its -wal and -shm files the same mode); mobile and ID-card numbers are masked before a row is written (`mask`);
questions and feedback older than GPSKB_RETENTION_DAYS (default 180) are deleted when a store opens and then at most
hourly as rows are written, and `gpskb store purge` deletes them on demand. Trainers' banks are not personal data and
are kept until their trainer deletes them.

Concurrency: WAL mode, a busy timeout, and one short-lived connection per call, so two people submitting at once
both land (SQLite serialises the writes; nothing is lost).
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from . import config
from .jsontypes import JSON

if TYPE_CHECKING:
    from .bank.items import BankItem

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    verdict TEXT NOT NULL,
    citations TEXT NOT NULL,          -- JSON list of clause ids
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT 'app'
);
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    verdict TEXT NOT NULL,
    citations TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'app'
);
CREATE TABLE IF NOT EXISTS banks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    trainer TEXT NOT NULL,            -- banks are kept per trainer
    name TEXT NOT NULL,
    filename TEXT NOT NULL DEFAULT '',
    n_items INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bank_items (
    bank_id INTEGER NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    item TEXT NOT NULL,               -- JSON of gpskb.bank.BankItem
    PRIMARY KEY (bank_id, position)
);
CREATE INDEX IF NOT EXISTS banks_trainer ON banks (trainer, created_at);
CREATE INDEX IF NOT EXISTS questions_verdict ON questions (verdict, created_at);
CREATE INDEX IF NOT EXISTS feedback_rating ON feedback (rating, created_at);
"""
MAX_TEXT = 4000
MAX_NAME = 100


#: tables of personal data, deleted after the retention period (column created_at)
PERSONAL_TABLES = ("feedback", "questions")
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


def _row_id(cur: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just wrote (sqlite3 types `lastrowid` as optional; after an INSERT it is set)."""
    assert cur.lastrowid is not None
    return int(cur.lastrowid)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


#: how long a connection waits for another writer (sqlite3's timeout, SQLite's busy handler, the WAL switch's retries)
_BUSY_TIMEOUT_S = 30.0


class Store:
    """Feedback and question log in one SQLite file."""

    def __init__(self, path: str | Path | None = None, retention_days: int | None = None):
        self.path = Path(path) if path else config.store_path()
        self.retention_days = retention_days if retention_days is not None else config.settings().retention_days
        if self.retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self._purged_at = 0.0
        if not self.path.parent.exists():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():  # created for its owner only; SQLite opens it as it is
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        with self._connect() as db:
            self._wal(db)
            db.executescript(SCHEMA)
        self.purged_on_open = self.purge()

    @staticmethod
    def _wal(db: sqlite3.Connection, wait_s: float = _BUSY_TIMEOUT_S) -> None:
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

    def _connect(self) -> closing[sqlite3.Connection]:
        """A connection that `with` closes (sqlite3's own context manager only ends the transaction)."""
        db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
        db.row_factory = sqlite3.Row
        return closing(db)

    def purge(self, days: int | None = None) -> dict[str, int]:
        """Delete logged questions and feedback older than `days` (default: the retention period); the count per
        table. Runs by itself when the store opens and then at most hourly as rows are written."""
        days = self.retention_days if days is None else days
        if days < 0:
            raise ValueError("days must be 0 or more")
        cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            counts = {t: db.execute(f"DELETE FROM {t} WHERE created_at < ?", (cutoff,)).rowcount  # noqa: S608 (fixed names)
                      for t in PERSONAL_TABLES}
            db.execute("COMMIT")
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
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO feedback (created_at, question, verdict, citations, rating, comment, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_now(), mask(question[:MAX_TEXT]), verdict, json.dumps(list(citations)), rating,
                 mask((comment or "")[:MAX_TEXT]), source))
            return _row_id(cur)

    def log_question(self, question: str, verdict: str, citations: list[str], source: str = "app") -> int:
        self._purge_due()
        with self._connect() as db:
            cur = db.execute("INSERT INTO questions (created_at, question, verdict, citations, source) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (_now(), mask(question[:MAX_TEXT]), verdict, json.dumps(list(citations)), source))
            return _row_id(cur)

    def feedback(self, limit: int = 200) -> list[JSON]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM feedback ORDER BY created_at DESC, id DESC LIMIT ?", (limit,))
            return [_row(r) for r in rows]

    def gaps(self, limit: int = 200) -> list[JSON]:
        """What policy editors should look at, newest first: questions answered out_of_scope or no_rule (from the
        question log and from feedback) and answers marked 👎."""
        with self._connect() as db:
            rows = db.execute(
                """SELECT created_at, question, verdict, citations, source, 'unanswered' AS kind, '' AS comment
                     FROM questions WHERE verdict IN ('out_of_scope', 'no_rule')
                   UNION ALL
                   SELECT created_at, question, verdict, citations, source,
                          CASE WHEN rating < 0 THEN 'thumbs_down' ELSE 'unanswered' END AS kind, comment
                     FROM feedback WHERE rating < 0 OR verdict IN ('out_of_scope', 'no_rule')
                   ORDER BY created_at DESC LIMIT ?""", (limit,))
            return [_row(r) for r in rows]


    # -- trainers' question banks (gpskb.bank) --------------------------------------------------------------------

    def add_bank(self, trainer: str, name: str, items: list[BankItem], filename: str = "") -> int:
        """Store a parsed bank for one trainer in one transaction: all its items or nothing. Returns the bank id."""
        trainer = _trainer(trainer)
        name = (name or filename or "题库").strip()[:MAX_NAME]
        if not items:
            raise ValueError("a bank needs at least one item")
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                cur = db.execute("INSERT INTO banks (created_at, trainer, name, filename, n_items) VALUES (?, ?, ?, ?, ?)",
                                 (_now(), trainer, name, filename[:MAX_NAME], len(items)))
                bank_id = _row_id(cur)
                db.executemany("INSERT INTO bank_items (bank_id, position, item) VALUES (?, ?, ?)",
                               [(bank_id, i, json.dumps(it.to_dict(), ensure_ascii=False))
                                for i, it in enumerate(items)])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return bank_id

    def banks(self, trainer: str) -> list[JSON]:
        """One trainer's banks, newest first: id, name, filename, created_at, n_items."""
        with self._connect() as db:
            rows = db.execute("SELECT id, name, filename, created_at, n_items FROM banks WHERE trainer = ? "
                              "ORDER BY created_at DESC, id DESC", (_trainer(trainer),))
            return [dict(r) for r in rows]

    def bank_items(self, trainer: str, bank_id: int) -> list[BankItem]:
        """The items of one of this trainer's banks, in file order (empty for another trainer's bank)."""
        from .bank.items import BankItem

        with self._connect() as db:
            rows = db.execute("SELECT i.item FROM bank_items i JOIN banks b ON b.id = i.bank_id "
                              "WHERE b.id = ? AND b.trainer = ? ORDER BY i.position", (bank_id, _trainer(trainer)))
            return [BankItem(**json.loads(r["item"])) for r in rows]

    def delete_bank(self, trainer: str, bank_id: int) -> bool:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            cur = db.execute("DELETE FROM banks WHERE id = ? AND trainer = ?", (bank_id, _trainer(trainer)))
            if cur.rowcount:
                db.execute("DELETE FROM bank_items WHERE bank_id = ?", (bank_id,))
            db.execute("COMMIT")
            return bool(cur.rowcount)


def _trainer(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValueError("请填写培训师姓名或账号（题库按培训师分别保存）")
    if len(name) > MAX_NAME:
        raise ValueError(f"培训师姓名过长（上限 {MAX_NAME} 字）")
    return name


def _row(r: sqlite3.Row) -> JSON:
    d = dict(r)
    if "citations" in d:
        d["citations"] = json.loads(d["citations"])
    return d
