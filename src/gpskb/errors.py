"""Named errors of the library. Front ends (CLI, app, API) turn them into one clear message, never a traceback."""


class GpskbError(Exception):
    """Base class: every error a user may see. str(error) is the message to show."""


class PolicyError(GpskbError):
    """A policy file is missing, malformed or inconsistent. The message names the file and the field."""

    def __init__(self, file, where, message):
        self.file = str(file)
        self.where = where
        self.problem = message
        super().__init__(f"{self.file}: {where}: {message}" if where else f"{self.file}: {message}")


class SettingError(GpskbError):
    """An environment variable or setting with a value gpskb cannot use. The message names the variable."""

    def __init__(self, name, message):
        self.name = name
        super().__init__(f"{name}: {message}")


class QuestionFileError(GpskbError):
    """An evaluation question file that is malformed. The message names the file and the field."""

    def __init__(self, file, where, message):
        self.file = str(file)
        self.where = where
        super().__init__(f"{self.file}: {where}: {message}" if where else f"{self.file}: {message}")


class IndexMissing(GpskbError):
    """No built index where one is expected."""


class IndexStale(GpskbError):
    """The built index does not match the policy texts or the embedder; it must be rebuilt."""


class InputError(GpskbError):
    """A question that cannot be answered as given (empty, too long, not text)."""


class EngineError(GpskbError):
    """The rule engine failed (including exceptions it swallowed inside actions)."""


class UnknownClause(GpskbError):
    """A clause id that is not in the knowledge base."""

    def __init__(self, clause_id, suggestions):
        self.clause_id = clause_id
        self.suggestions = list(suggestions)
        hint = f"; did you mean: {', '.join(self.suggestions)}" if self.suggestions else ""
        super().__init__(f"unknown clause id {clause_id!r}{hint}")


class UnknownRule(GpskbError):
    """A rule id that is not in the knowledge base."""

    def __init__(self, rule_id, suggestions):
        self.rule_id = rule_id
        self.suggestions = list(suggestions)
        hint = f"; did you mean: {', '.join(self.suggestions)}" if self.suggestions else ""
        super().__init__(f"unknown rule id {rule_id!r}{hint}")
