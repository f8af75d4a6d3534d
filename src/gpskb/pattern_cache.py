"""The policy's compiled regular expressions kept on disk between processes, as Python keeps bytecode in __pycache__.

The policy files hold ~1,700 regular expressions; compiling them is about 0.7 s, a third of a fresh `gpskb ask`.
Python's `re` compiles in three steps: it parses the pattern and generates the matcher's code (both written in Python,
nearly all of the time), then `_sre.compile` (C) makes the pattern object from the code. This cache keeps, per pattern,
what the first two steps produce — the code and the groups — and a later process makes the pattern objects from it in C
(~40 ms for all of them).

It is an optimisation, never a source of truth:
- an entry is keyed by the pattern's exact text, and the file by the interpreter's exact version and the matcher's
  MAGIC number: another Python ignores the file (and rewrites it);
- a pattern missing from the file is compiled as before, so a broken pattern is still an `re.error` (the policy loader
  names its file and field); only patterns that compiled go in;
- a damaged or unreadable file, a cache folder that cannot be written, or a Python whose `re` internals differ from
  3.11's make it fall back to `re.compile` silently;
- `_sre.compile` checks the code it is given, and a pattern object made from the cache compares equal (same text, flags
  and code) to `re.compile`'s (tests/test_pattern_cache.py checks every policy pattern).

The file is written only when a process compiled patterns it lacked (the first run, or after a policy edit), atomically
(a temporary file renamed over it), so processes sharing it never see half a file. It is this machine's own, like the
store beside it (marshal, like __pycache__, is not a format for files from elsewhere): never commit or copy it.
"""
from __future__ import annotations

import atexit
import marshal
import os
import re
import sys
import tempfile
import threading
import zlib
from pathlib import Path

from . import backtracking

try:  # CPython's matcher internals (3.11); without them every pattern is compiled by re.compile
    import _sre  # type: ignore[import-not-found]
    from re import _compiler, _parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - another interpreter
    _sre = None

#: what a cache file must say it was made by
_HEADER = ("gpskb-patterns", 1, sys.version, getattr(_sre, "MAGIC", None))
FILE_NAME = "patterns.bin"

#: (flags, code, groups, groupindex, indexgroup): the arguments `_sre.compile` takes after the pattern's text
Entry = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]

_lock = threading.Lock()
_path: Path | None = None
_table: dict[str, Entry] = {}  # as read from the file at _path
_new: dict[str, Entry] = {}  # compiled by this process and not in the file
_used: set[str] = set()  # every pattern this process asked for


def use(path: Path | None) -> None:
    """Read the cache file at `path` (once per process and path); None turns the cache off."""
    global _path, _table
    with _lock:
        if path == _path:
            return
        _path, _table = path, {}
        _new.clear()
        if path is not None and _sre is not None:
            _table = read(path)


def read(path: Path) -> dict[str, Entry]:
    """The entries of the cache file at `path`: none when it is missing, damaged or made by another Python."""
    try:
        header, table = marshal.loads(zlib.decompress(path.read_bytes()))
    except (OSError, EOFError, ValueError, TypeError, zlib.error):
        return {}  # none yet, or damaged: rewritten on the next save
    return table if header == _HEADER and isinstance(table, dict) else {}


def pending() -> int:
    """How many patterns this process compiled that the cache file lacks (written by the next `save`)."""
    return len(_new)


def compile_cached(pattern: str) -> re.Pattern[str]:
    """The pattern compiled: from the cache when it holds it, else by `re`'s own steps (kept for the next save)."""
    _used.add(pattern)
    entry = _table.get(pattern) or _new.get(pattern)
    if entry is not None:
        try:
            return _sre.compile(pattern, *entry)  # type: ignore[no-any-return]
        except (RuntimeError, TypeError, ValueError):
            pass  # an entry the matcher refuses: compile afresh
    if _sre is None or _path is None:
        backtracking.check(pattern)
        return re.compile(pattern)
    try:
        entry = _steps(pattern)
    except re.error:
        raise
    except Exception:  # noqa: BLE001  - `re` internals not as in 3.11: no cache, the public API
        return re.compile(pattern)
    _new[pattern] = entry
    return _sre.compile(pattern, *entry)  # type: ignore[no-any-return]


def _steps(pattern: str) -> Entry:
    """What re._compiler.compile (3.11) computes before `_sre.compile`, for a pattern compiled without flags."""
    tree = _parser.parse(pattern, 0)
    backtracking.check(pattern, tree)
    code = [int(c) for c in _compiler._code(tree, 0)]
    groupindex = dict(tree.state.groupdict)
    indexgroup: list[str | None] = [None] * tree.state.groups
    for name, i in groupindex.items():
        indexgroup[i] = name
    return int(tree.state.flags), code, tree.state.groups - 1, groupindex, tuple(indexgroup)


def save() -> bool:
    """Write the cache file when this process compiled patterns it lacked. The file keeps what it held unless that
    is mostly patterns this process never asked for (old policy edits): then only this process's. True if written."""
    with _lock:
        if _path is None or not _new:
            return False
        table = {**_table, **_new}
        if len(table) > 2 * len(_used) + 256:
            table = {p: e for p, e in table.items() if p in _used}
        tmp = None
        try:
            _path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".patterns.", dir=_path.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(zlib.compress(marshal.dumps((_HEADER, table)), 1))
            os.replace(tmp, _path)
        except OSError:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            return False  # a read-only folder: every process compiles, as without the cache
        _table.update(_new)
        _new.clear()
        return True


atexit.register(save)  # patterns first compiled after the policy loaded (the English gazetteer, …) are kept too
