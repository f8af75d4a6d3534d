"""Checking a file's data against its model: the first validation error as a PolicyError (or another FileFieldError)
naming the file and the field in the loader's own words, with "did you mean" for a misspelt key."""
from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import FileFieldError, PolicyError

_MESSAGES = {
    "missing": "field required",
    "bool_type": "expected true or false",
    "int_type": "expected an integer",
    "float_type": "expected a number",
    "string_type": "expected non-empty text",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
}


def _where(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("int", "float") or str(part).startswith("function-"):
            continue  # a union member's or a validator's own name, not a field
        else:
            out += f".{part}" if out else str(part)
    return out


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model whose field set a location's last key was checked against (for "did you mean")."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def check(model: type[BaseModel], data: Any, file: str, error: type[FileFieldError] = PolicyError,
          prefix: str = "") -> Any:
    """`data` checked against `model`; returned as it was read. The first problem is `error(file, field, what)`, the
    field under `prefix` (a question file's `[3]`)."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # an unknown key first, as the loader always did: a misspelt required key (txt: for text:) is then reported
        # as itself with "did you mean", not as the required field it left missing
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        where = prefix + ("." if prefix and err["loc"] and not isinstance(err["loc"][0], int) else "") + _where(err["loc"])
        where = where or "top level"
        kind = err["type"]
        if kind == "extra_forbidden":
            owner = _model_at(model, err["loc"])
            near = difflib.get_close_matches(str(err["loc"][-1]), list(owner.model_fields), n=1) if owner else []
            message = "unknown key" + (f" (did you mean {near[0]!r}?)" if near else "")
        elif kind == "literal_error":
            message = f"{err['input']!r} is not one of {err['ctx']['expected']}"
        elif kind in ("dict_type", "model_type") and not err["loc"]:
            message = f"expected a mapping, got {type(data).__name__}"
        else:
            message = _MESSAGES.get(kind, err["msg"])
        raise error(file, where, message) from None
    return data



_Model = TypeVar("_Model", bound=BaseModel)


def validated(model: type[_Model], data: Any, file: str) -> _Model:
    """`data` as `model`, or PolicyError(file, the first bad field, what is wrong)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise PolicyError(file, where, err["msg"]) from None

