"""gpskb: can this service be bought through 政府购买服务? Verdicts from rules, with the clauses to prove it.

    >>> import gpskb
    >>> a = gpskb.answer("能否以劳务派遣方式通过政府购买服务用工？")
    >>> a.verdict, a.citations[0].clause_id
    ('prohibited', 'caizong-2023-12/11')
"""
__version__ = "0.1.0"
__all__ = ["answer", "Answer", "Engine", "__version__"]


def answer(question, facts=()):
    """Answer one question with the process-wide default engine (loaded on first use). See gpskb.answer.Engine."""
    from .answer import answer as _answer

    return _answer(question, facts)


def __getattr__(name):  # heavy modules (spaCy, FAISS, the embedder) load only when used
    if name in ("Answer", "Engine"):
        from . import answer as _mod

        return getattr(_mod, name)
    raise AttributeError(name)
