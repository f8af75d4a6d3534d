"""Text normalisation shared by reading, retrieval and the learned readers: one form every matcher sees."""
from __future__ import annotations

import re
import unicodedata

from opencc import OpenCC

_T2S = OpenCC("t2s")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_WS = re.compile(r"\s+")
_HAS_WORD = re.compile(r"[\w]", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def normalise(text: str) -> str:
    """The form every matcher and ranker sees: Simplified characters, NFKC-folded widths, lower case, one space.

    Length is preserved character for character except where NFKC expands a compatibility character, so positions
    reported on the normalised text point at the same words the user typed.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    text = _WS.sub(" ", text).strip()
    return _T2S.convert(text).lower()


def has_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


