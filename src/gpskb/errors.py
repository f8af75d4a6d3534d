"""Named errors of the library. Front ends (CLI, app, API) turn them into one clear message, never a traceback."""
from __future__ import annotations

from collections.abc import Iterable


class GpskbError(Exception):
    """Base class: every error a user may see. str(error) is the message to show."""


class FileFieldError(GpskbError):
    """A file gpskb reads is malformed. The message names the file and the field (`file: field: problem`)."""

    def __init__(self, file: object, where: str, message: str) -> None:
        self.file = str(file)
        self.where = where
        self.problem = message
        super().__init__(f"{self.file}: {where}: {message}" if where else f"{self.file}: {message}")


class PolicyError(FileFieldError):
    """A policy file is missing, malformed or inconsistent."""


class SettingError(GpskbError):
    """An environment variable or setting with a value gpskb cannot use. The message names the variable."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"{name}: {message}")


class QuestionFileError(FileFieldError):
    """An evaluation question file that is malformed."""


class IndexMissing(GpskbError):
    """No built index where one is expected."""


class IndexStale(GpskbError):
    """The built index does not match the policy texts or the embedder; it must be rebuilt."""


class InputError(GpskbError):
    """A question that cannot be answered as given (empty, too long, not text)."""


class EngineError(GpskbError):
    """The rule engine failed (including exceptions it swallowed inside actions)."""


class UnknownId(GpskbError):
    """An id that is not in the knowledge base; `suggestions` are the near matches."""

    what = "id"

    def __init__(self, wanted: str, suggestions: Iterable[str]) -> None:
        self.wanted = wanted
        self.suggestions = list(suggestions)
        hint = f"; did you mean: {', '.join(self.suggestions)}" if self.suggestions else ""
        super().__init__(f"unknown {self.what} {wanted!r}{hint}")


class UnknownClause(UnknownId):
    what = "clause id"

    @property
    def clause_id(self) -> str:
        return self.wanted


class UnknownRule(UnknownId):
    what = "rule id"

    @property
    def rule_id(self) -> str:
        return self.wanted
