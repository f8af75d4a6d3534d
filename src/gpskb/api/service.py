"""What the API's endpoints share: the engine (thread-safe, loaded once), the settings, the optional question log and
the clause listings (_Service); and identical questions in flight at the same moment answered once (_InFlight)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

from ..answer import Engine
from ..errors import InputError
from ..jsontypes import JSON as JSONObject
from ..knowledge import Clause
from .errors import _dumps
from .settings import Settings

log = logging.getLogger("gpskb.api")


class _InFlight:
    """Identical questions asked at the same moment are answered once: the first request computes, the others wait
    for its result. Without this, concurrent misses on the embedder's query cache each embed the same question
    (measured: 632 embeddings for 222 distinct questions under 50 clients). Answers are deterministic for a loaded
    knowledge base, so sharing one is exact; the shared dict is only read (serialised, logged) afterwards."""

    class _Call:
        __slots__ = ("done", "result", "failed")

        def __init__(self) -> None:
            self.done = threading.Event()
            self.result: JSONObject | None = None
            self.failed = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Hashable, _InFlight._Call] = {}

    def run(self, key: Hashable, compute: Callable[[], JSONObject]) -> JSONObject:
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
            assert call.result is not None  # the leader set it: it did not fail
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

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.store = None
        if settings.log_questions:
            from ..store import Store

            self.store = Store(settings.store_path)
            log.info("logging questions to %s", self.store.location)
        kb = engine.kb
        self.documents = [{"id": d.id, "number": d.number, "title": d.title, "issuer": d.issuer,
                           "excerpt": d.excerpt, "excerpt_note": d.excerpt_note if d.excerpt else None}
                          for d in kb.documents.values()]
        self.clauses = [self.clause_summary(c) for c in kb.clauses.values()]
        self.clause_list = _dumps({"documents": self.documents, "clauses": self.clauses})
        self.in_flight = _InFlight()

    def answer(self, question: str, facts: tuple[str, ...] = ()) -> JSONObject:
        """Answer.to_dict(), or {"question", "error"} for a question the library refuses (InputError); any other
        error is raised. Identical concurrent questions are computed once."""
        def compute() -> JSONObject:
            try:
                return self.engine.answer(question, facts=facts).to_dict()
            except InputError as exc:
                return {"question": question, "error": str(exc)}

        return self.in_flight.run((question, facts), compute)

    def clause_summary(self, clause: Clause) -> JSONObject:
        doc = self.engine.kb.document_of(clause)
        return {"id": clause.id, "document": doc.id, "document_number": doc.number, "label": clause.label,
                "kind": clause.kind, "excerpt": doc.excerpt, "excerpt_note": doc.excerpt_note if doc.excerpt else None}

    def record(self, question: str, result: JSONObject) -> None:
        """Store an answered question when GPSKB_LOG_QUESTIONS is on; a failing store never fails the request."""
        if self.store is None or "verdict" not in result:
            return
        try:
            self.store.log_question(question, result["verdict"], [c["clause_id"] for c in result["citations"]],
                                    source="api")
        except Exception:  # noqa: BLE001 - the answer matters more than the log
            log.warning("could not store the question in %s", self.store.location, exc_info=True)

