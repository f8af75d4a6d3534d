"""Text normalisation shared by reading, retrieval and the learned readers: one form every matcher sees; and the check
of a raw question before it is normalised (clean_question)."""
from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator

from opencc import OpenCC

from .errors import InputError
from .pattern_cache import compile_cached

_T2S = OpenCC("t2s")
# Traditional text written the Taiwan way uses 著 where Simplified writes 着 (有著落, 沿著, 意味著); OpenCC's t2s keeps
# 著, its tw2s also turns 么 into 幺. So 着 is written here only where 著 is that particle or zhuó (著落, 著手, 接著) —
# never in 著作, 著名, 著称, 著述 (享有著作权 stays), 显著, 名著, 土著. One character for one: positions are kept.
_ZHE = re.compile(r"著(?=[落急手想眼重陆迷凉])"
                  r"|(?<=[沿接跟随看拿等靠味为有带忙急想做管领守盯照朝向对本冲顺按凭试活干写说听站坐])著(?![作名称述])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_WS = re.compile(r"\s+")
_HAS_WORD = re.compile(r"[\w]", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


#: an underscore joining two words (provider_type), read as the space it stands for
_JOINED = re.compile(r"(?<=[A-Za-z0-9])_(?=[A-Za-z0-9])")


@functools.lru_cache(maxsize=2048)
def normalise(text: str) -> str:
    """The form every matcher and ranker sees: Simplified characters, NFKC-folded widths, lower case, one space.

    Length is preserved character for character except where NFKC expands a compatibility character, so positions
    reported on the normalised text point at the same words the user typed.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    text = _JOINED.sub(" ", text)  # buyer_type=township_gov, as an intranet form writes it (a blank ____ stays)
    text = _WS.sub(" ", text).strip()
    return _ZHE.sub("着", _T2S.convert(text)).lower()


def clean_question(question: object, max_chars: int) -> str:
    """Check a raw question and return it ready to normalise, or raise InputError saying what is wrong with it."""
    if isinstance(question, bytes):
        try:
            question = question.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("问题不是有效的 UTF-8 文本 / the question is not valid UTF-8 text") from None
    if not isinstance(question, str):
        raise InputError("问题必须是文本 / the question must be text")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (from a JSON "\ud800" escape)
        raise InputError("问题含有无效的 Unicode 字符 / the question contains invalid Unicode (lone surrogates)") \
            from None
    if "\ufffd" in question or "\x00" in question:
        raise InputError("问题含有无法识别的字符（可能是二进制内容） / the question contains binary or undecodable data")
    stripped = question.strip()
    if not stripped:
        raise InputError("问题为空，请输入要咨询的事项 / the question is empty")
    if len(stripped) > max_chars:
        raise InputError(f"问题过长（{len(stripped)} 字，上限 {max_chars} 字），请只写要咨询的事项 / "
                         f"the question is too long ({len(stripped)} characters, limit {max_chars})")
    if not _HAS_WORD.search(_CONTROL.sub("", stripped)):
        raise InputError("问题只有标点或符号，没有文字 / the question has no words, only punctuation or symbols")
    return stripped


#: full-width punctuation and the character NFKC folds it to in normalised text
_FOLDED = {"，": ",", "；": ";", "？": "?", "！": "!", "：": ":", "（": "(", "）": ")", "　": " "}


def fold_pattern(pattern: str) -> str:
    """A policy regular expression made to see normalised text as its author meant: normalise() folds ，；？（） to
    their ASCII forms, so a class such as [^，。；？] also gets the folded characters ([^，。；？,;?]) and a literal
    full-width character outside a class becomes its escaped ASCII form. Everything else is left as written."""
    out, in_class, escaped, opened = [], False, False, 0
    for ch in pattern:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif in_class:
            # a ] right after [ or [^ is a literal member, not the end of the class
            first = len(out) == opened or (len(out) == opened + 1 and out[-1] == "^")
            if ch == "]" and not first:
                in_class = False
            out.append(ch + (_FOLDED[ch] if ch in _FOLDED else ""))
        elif ch == "[":
            out.append(ch)
            in_class, opened = True, len(out)
        else:
            out.append(re.escape(_FOLDED[ch]) if ch in _FOLDED else ch)
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """re.compile of a policy pattern, folded for normalised text (see fold_pattern); cached, so a pattern kept as
    text in a settings model compiles once; across processes, gpskb.pattern_cache keeps the compiled form."""
    return compile_cached(fold_pattern(pattern))


def matches_any(patterns: Iterable[str], text: str) -> bool:
    """Whether any of a policy file's patterns (compiled as `compile_pattern` does) occurs in the text."""
    return any(compile_pattern(rx).search(text) for rx in patterns)


def find_all(text: str, sub: str) -> Iterator[int]:
    """Every start index of `sub` in text (overlapping occurrences too)."""
    i = text.find(sub)
    while i >= 0:
        yield i
        i = text.find(sub, i + 1)


def has_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


_ENGLISH_JOIN = re.compile(r"[\s\-‐‑–]+")


def english_term(term: str) -> str:
    """A regex source for an English word or phrase in which a space and a hyphen are the same join: design-and-build,
    design and build, design-build-operate all read alike (the term list keeps one spelling)."""
    return _ENGLISH_JOIN.pattern.join(re.escape(w) for w in _ENGLISH_JOIN.split(term.strip().lower()) if w)


def english_key(text: str) -> str:
    """An English phrase as matched, joined the way english_term's spelling is (for looking it up)."""
    return " ".join(w for w in _ENGLISH_JOIN.split(text.strip().lower()) if w)
