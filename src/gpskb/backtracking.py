"""Policy patterns that could take the matcher exponential time (catastrophic backtracking) are refused when they are
compiled, as a broken pattern is: the loader's error names the file and the field.

Python's `re` backtracks. A repeat without an upper bound over a body that can match the same stretch of text in more
than one way — (a+)+, (\\w+\\s?)*, ([^，]+)+。, (x+y*x+)+ — tries every split of a failing input: 30 characters can
take minutes, and one pasted question would hang `ask` for everyone. The check reads the pattern's parsed tree (the
one `re` builds anyway) and refuses such a repeat: its body has unbounded repeats and nothing else it must match.
Bounded repeats ({0,40}) and bodies with a character they must match between repeats
((their\\s+|the\\s+)*) pass. It is a guard for the classic forms, not a proof: an alternation of overlapping branches
under a star ((a|aa)*) is not caught.
"""
from __future__ import annotations

import re
from typing import Any

try:  # CPython's parser (3.11); another interpreter compiles without this check
    from re import _constants as C  # type: ignore[attr-defined]  # noqa: N812  # as re._compiler names them
    from re import _parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    _parser = None

_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT) if _parser is not None else ()


def check(pattern: str, tree: Any = None) -> None:
    """Raise re.error when `pattern` (or its parsed `tree`) has a repeat that can backtrack catastrophically."""
    if _parser is None:
        return
    tree = tree if tree is not None else _parser.parse(pattern, 0)
    where = _first_catastrophic(list(tree))
    if where is not None:
        raise re.error(f"a repeat without an upper bound over a body that can match the same text in several ways "
                       f"(catastrophic backtracking: a long question could hang the matcher); bound it, e.g. {{0,20}}, "
                       f"or make the body need a character of its own: {where}")


def _first_catastrophic(items: list[Any]) -> str | None:
    for op, av in items:
        if op in _REPEATS:
            lo, hi, body = av
            if hi == C.MAXREPEAT and _ambiguous(list(body)):
                return f"a repeat of {lo} or more"
            found = _first_catastrophic(list(body))
        elif op is C.SUBPATTERN:
            found = _first_catastrophic(list(av[-1]))
        elif op is C.BRANCH:
            found = next((f for b in av[1] if (f := _first_catastrophic(list(b))) is not None), None)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            found = _first_catastrophic(list(av[1]))
        else:
            found = None
        if found is not None:
            return found
    return None


def _ambiguous(body: list[Any]) -> bool:
    r"""Whether a repeated body can match one stretch of text in several ways: a branch of it has unbounded repeats
    and nothing else it must match, so the text can be split between its repeats, and between its iterations, in
    many ways ((a+)+, (\w+\s?)+, (x+x+)+). A branch that must match a character of its own each time
    ((?:(?:也|还)\s*[，,]?\s*)+: a word, then spaces) is split one way only."""
    for branch in _branches(body):
        unbounded = [k for k, el in enumerate(branch) if _unbounded([el])]
        if unbounded and _min_width([el for k, el in enumerate(branch) if k not in unbounded]) == 0:
            return True
    return False


def _branches(items: list[Any]) -> list[list[Any]]:
    while len(items) == 1 and items[0][0] is C.SUBPATTERN:
        items = list(items[0][1][-1])
    if len(items) == 1 and items[0][0] is C.BRANCH:
        return [list(b) for b in items[0][1][1]]
    return [items]


def _unbounded(items: list[Any]) -> bool:
    for op, av in items:
        if op in _REPEATS and (av[1] == C.MAXREPEAT or _unbounded(list(av[2]))):
            return True
        if op is C.SUBPATTERN and _unbounded(list(av[-1])):
            return True
        if op is C.BRANCH and any(_unbounded(list(b)) for b in av[1]):
            return True
    return False


def _min_width(items: list[Any]) -> int:
    total = 0
    for op, av in items:
        if op in (*_REPEATS, C.POSSESSIVE_REPEAT):
            total += av[0] * _min_width(list(av[2]))
        elif op is C.SUBPATTERN:
            total += _min_width(list(av[-1]))
        elif op is C.ATOMIC_GROUP:
            total += _min_width(list(av))
        elif op is C.BRANCH:
            total += min(_min_width(list(b)) for b in av[1])
        elif op not in (C.AT, C.ASSERT, C.ASSERT_NOT, C.GROUPREF_EXISTS):
            total += 1
    return total
