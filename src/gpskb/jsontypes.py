"""The type of JSON-like data: a mapping as read from a YAML or JSON file (policy settings, a manifest), or as
written to JSON (an answer, a report). Its values are whatever the file holds, so they are typed as Any."""
from __future__ import annotations

from typing import Any, TypeAlias

#: a JSON object (or a YAML mapping) with string keys
JSON: TypeAlias = dict[str, Any]
