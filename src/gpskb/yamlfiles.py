"""Reading the YAML files gpskb is given (the policy folder, question files), strictly: duplicate keys are refused, dates
stay text, and any problem is a PolicyError naming the file and the line. And how a file is named in a message."""
from __future__ import annotations

import os
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from .errors import PolicyError


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml's parser: ~10× faster start-up
    """SafeLoader that rejects duplicate keys (PyYAML silently keeps the last one) and keeps dates as strings."""


def _construct_mapping(loader: yaml.constructor.SafeConstructor, node: yaml.MappingNode,
                       deep: bool = False) -> dict[Hashable, Any]:
    seen: dict[Hashable, int] = {}  # key → the line it was first seen on
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay strings: 2023-04-10 is a citation detail, not a datetime to reformat.
_StrictLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def display_path(path: Path) -> str:
    """A path as users should see it in messages: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except (ValueError, OSError):
        return str(path)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file strictly; any problem becomes a PolicyError naming the file (and line)."""
    name = display_path(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(name, "", "file not found") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(name, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise PolicyError(name, "", f"cannot read: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise PolicyError(name, where, f"malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(name, "", f"malformed YAML: {exc}") from None
