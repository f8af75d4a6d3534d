"""Chinese numerals (一 … 九百九十九, 两, 一百零五) and the article numbers of the texts (第十条, 第二十四条, 第5条)."""
from __future__ import annotations

import re

_CN = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


#: an article named in Chinese: 第十条, 第二十四条, 第5条
ARTICLE_RE = re.compile(r"第([一二三四五六七八九十百零两\d]+)条")


def chinese_number(s: str) -> int | None:
    """一 … 九百九十九 (十二, 一百零五, 一百一十, 两百) and arabic digits → int; None when it is not such a number."""
    if s.isdigit():
        return int(s)
    if not s or any(ch not in _CN and ch not in "十百" for ch in s):
        return None
    total, rest = 0, s
    if "百" in s:
        hundreds, _, rest = s.partition("百")
        if len(hundreds) != 1 or not _CN.get(hundreds) or "百" in rest:
            return None
        total = _CN[hundreds] * 100
        if not rest:
            return total
        if rest[0] == "零":  # 一百零五
            rest = rest[1:]
            return total + _CN[rest] if len(rest) == 1 and _CN.get(rest) else None
        if len(rest) == 1 and rest in _CN:  # 一百五 (150, as it is spoken)
            return total + _CN[rest] * 10
    if "十" not in rest:
        return _CN[rest] if len(rest) == 1 and not total else None
    tens, _, ones = rest.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    return total + (_CN[tens] if tens else 1) * 10 + (_CN[ones] if ones else 0)
