"""Trainers' question banks (题库): read a CSV or Excel bank of 判断/单选/多选 items with their answer keys, ask gpskb
about every item, and list where gpskb's reading and the key disagree — a trainer's check of the bank and of the
product at once.

An item becomes statements gpskb can judge (policy/exam.yaml says how): a 判断题 is its stem; each option of a
choice question is the stem with the option in its blank. A statement claims that something may be done, or that it
may not (不得作为…、不属于…); gpskb's verdict on it says whether the claim holds (allowed/conditional: it may;
prohibited: it may not; no_rule/out_of_scope: undecided). Reading a bank is all or nothing: any bad row refuses the
whole file with every problem listed by row and column, so nothing is half-imported.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import GpskbError, InputError
from .jsontypes import JSON
from .schema.exam import ExamConfig
from .text import normalise

if TYPE_CHECKING:
    from .answer import Engine

LETTERS = "ABCDEF"
#: what gpskb makes of a statement, as the CLI and the app say it
TRUTH_LABEL = {True: "成立", False: "不成立", None: "未判断"}
MAX_PROBLEMS_SHOWN = 20


class BankError(GpskbError):
    """A question bank that cannot be imported as given. `problems` lists each one (row and column named)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:MAX_PROBLEMS_SHOWN]
        more = len(self.problems) - len(shown)
        tail = f"\n……另有 {more} 处问题" if more > 0 else ""
        super().__init__("题库未导入（没有导入任何一题）：\n" + "\n".join(f"- {p}" for p in shown) + tail)


@dataclass(frozen=True)
class BankItem:
    """One item of a bank: its spreadsheet row, type (判断/单选/多选), stem, options by letter and key (对/错 or
    letters in order), and the bank's own explanation if it has one."""

    row: int
    type: str
    stem: str
    options: dict[str, str]
    key: str
    explanation: str = ""

    def to_dict(self) -> JSON:
        return asdict(self)


@dataclass
class StatementCheck:
    letter: str | None  # the option this statement puts in the stem (None for a 判断题)
    text: str
    claims: bool  # the statement says the thing may be done (False: that it may not)
    verdict: str
    holds: bool | None  # gpskb: may it be done? (None: gpskb does not decide)
    conclusion: str = ""
    aspect: str = ""  # what gpskb read the statement as asking
    rule: str = ""  # the rule that decided gpskb's verdict ("" when none did)
    same_as_stem: bool = False  # gpskb answers the stem alone the same way: the option itself decides nothing
    citations: list[str] = field(default_factory=list)  # clause ids, deciding clause first
    error: str = ""  # the statement could not be asked (too long, no words…)

    @property
    def true(self) -> bool | None:
        """Whether gpskb finds the statement true (None: it does not decide, or its option changes nothing)."""
        return None if self.holds is None or self.same_as_stem else self.holds == self.claims


@dataclass
class ItemCheck:
    item: BankItem
    statements: list[StatementCheck]
    gpskb_key: str | None  # the key gpskb's verdicts give (None: undecided)
    agrees: bool | None  # None: gpskb decides too little to compare

    def to_dict(self) -> JSON:
        return {"item": self.item.to_dict(), "gpskb_key": self.gpskb_key, "agrees": self.agrees,
                "statements": [{**asdict(s), "true": s.true} for s in self.statements]}


@dataclass
class BankReport:
    items: list[ItemCheck]

    def count(self, agrees: bool | None) -> int:
        return sum(1 for c in self.items if c.agrees is agrees)

    @property
    def disagreements(self) -> list[ItemCheck]:
        return [c for c in self.items if c.agrees is False]

    @property
    def undecided(self) -> list[ItemCheck]:
        return [c for c in self.items if c.agrees is None]

    def summary(self) -> JSON:
        n = len(self.items)
        by_type: dict[str, dict[str, int]] = {}
        for t in ("判断", "单选", "多选"):
            mine = [c for c in self.items if c.item.type == t]
            if mine:
                by_type[t] = {"items": len(mine), "agree": sum(1 for c in mine if c.agrees is True)}
        return {"items": n, "agree": self.count(True), "disagree": self.count(False), "undecided": self.count(None),
                "agreement": round(self.count(True) / n, 3) if n else 0.0, "by_type": by_type}


# -- reading a file ----------------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _rows_xlsx(data: bytes) -> list[list[str]]:
    import openpyxl  # only when an Excel file is read

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise BankError([f"不是有效的 Excel (.xlsx) 文件：{exc}"]) from None
    try:
        sheet = book.worksheets[0]
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _rows_csv(data: bytes) -> list[list[str]]:
    if b"\x00" in data[:4096]:
        raise BankError(["文件含有二进制内容，不是 CSV 文本；请上传 .csv（UTF-8 或 GBK 编码）或 .xlsx 文件"])
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in Chinese saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise BankError(["CSV 文件既不是 UTF-8 也不是 GBK 编码，无法读取"])
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:
        raise BankError([f"CSV 格式有误：{exc}"]) from None


def read_rows(data: bytes, filename: str, cfg: ExamConfig) -> list[list[str]]:
    """The file's rows (header first) as text cells, or BankError saying why it cannot be read."""
    if not data:
        raise BankError(["文件是空的"])
    if len(data) > cfg.limits.max_bytes:
        raise BankError([f"文件过大（{len(data):,} 字节，上限 {cfg.limits.max_bytes:,} 字节）；请拆分后分批导入"])
    suffix = Path(filename or "").suffix.lower()
    if suffix == ".xls":
        raise BankError(["不支持旧版 Excel (.xls) 文件：请在 Excel 中另存为 .xlsx 或 CSV 后再导入"])
    if suffix in (".xlsx", ".xlsm") or data[:4] == b"PK\x03\x04":
        return _rows_xlsx(data)
    return _rows_csv(data)


def _heading(text: str) -> str:
    return re.sub(r"[\s*＊:：]", "", normalise(text))  # normalise() already folds case


def _columns(header: list[str], cfg: ExamConfig) -> dict[str, Any]:
    """Column index of each field, from the header row; BankError naming what is missing."""
    names = {_heading(h): i for i, h in reversed(list(enumerate(header))) if h}
    found: dict[str, Any] = {}
    for fld in ("type", "stem", "key", "options", "explanation"):
        for alias in getattr(cfg.columns, fld):
            if _heading(alias) in names:
                found[fld] = names[_heading(alias)]
                break
    options = {}
    for letter in LETTERS:
        for prefix in cfg.columns.option_prefixes:
            i = names.get(_heading(prefix + letter))
            if i is not None:
                options[letter] = i
                break
    found["letters"] = options
    labels = {"type": "题型", "stem": "题干", "key": "答案"}
    missing = [f"「{labels[f]}」（可用列名：{'、'.join(getattr(cfg.columns, f)[:4])}）" for f in labels if f not in found]
    if missing:
        raise BankError([f"第 1 行（表头）缺少列：{'；'.join(missing)}。表头应为：题型,题干,选项A,选项B,选项C,选项D,答案"])
    return found


_OPTION_MARK = re.compile(r"(?:^|(?<=[\s;；,，]))([A-Fa-f])\s*[.．、:：)）]\s*")


def _split_options(cell: str) -> dict[str, str]:
    """Options written in one cell: "A. … B. …" (or one per line)."""
    marks = list(_OPTION_MARK.finditer(cell))
    out = {}
    for m, nxt in zip(marks, marks[1:] + [None], strict=False):
        out[m.group(1).upper()] = cell[m.end(): nxt.start() if nxt else len(cell)].strip(" ;；,，\n")
    return out


def _key_of(kind: str, raw: str, options: dict[str, str], cfg: ExamConfig) -> tuple[str | None, str]:
    """The normalised key, or (None, what is wrong)."""
    if kind == "判断":
        folded = raw.strip().casefold()
        for key, spellings in cfg.judge_keys.items():
            if folded in {s.casefold() for s in spellings}:
                return key, ""
        return None, f"判断题的答案「{raw}」不认识（应为 对 或 错）"
    letters = re.sub(r"[\s,，、;；/]", "", normalise(raw)).upper()
    if not letters or not set(letters) <= set(LETTERS):
        return None, f"答案「{raw}」应为选项字母（如 A 或 ABD）"
    absent = sorted(set(letters) - set(options))
    if absent:
        return None, f"答案中的选项 {''.join(absent)} 在本题中没有内容"
    if kind == "单选" and len(set(letters)) != 1:
        return None, f"单选题的答案只能有一个字母（现为「{raw}」）"
    return "".join(sorted(set(letters))), ""


def parse(data: bytes, filename: str, cfg: ExamConfig) -> list[BankItem]:
    """Every item of a bank file, or BankError listing every problem (nothing is returned half-read)."""
    rows = read_rows(data, filename, cfg)
    while rows and not any(rows[0]):
        rows.pop(0)
    if not rows:
        raise BankError(["文件中没有内容"])
    cols = _columns(rows[0], cfg)
    body = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(r)]
    if not body:
        raise BankError(["表头下没有题目"])
    if len(body) > cfg.limits.max_items:
        raise BankError([f"题库共 {len(body):,} 题，超过一次导入的上限 {cfg.limits.max_items:,} 题；请拆分后分批导入"])
    types = {_heading(s): t for t, spellings in cfg.types.items() for s in spellings}
    items, problems = [], []
    for n, row in body:
        def get(i: int | None, row: list[str] = row) -> str:
            return row[i].strip() if i is not None and i < len(row) else ""

        raw_type, stem, raw_key = get(cols["type"]), get(cols["stem"]), get(cols["key"])
        kind = types.get(_heading(raw_type))
        if kind is None:
            problems.append(f"第 {n} 行「题型」：「{raw_type}」不认识（应为 判断、单选 或 多选）" if raw_type
                            else f"第 {n} 行「题型」为空")
            continue
        if not stem:
            problems.append(f"第 {n} 行「题干」为空")
            continue
        options = {k: get(i) for k, i in cols["letters"].items() if get(i)}
        if not options and "options" in cols:
            options = _split_options(get(cols["options"]))
        too_long = [t for t in [stem, *options.values()] if len(t) > cfg.limits.max_cell_chars]
        if too_long:
            problems.append(f"第 {n} 行：题干或选项超过 {cfg.limits.max_cell_chars} 字")
            continue
        if kind != "判断" and len(options) < 2:
            problems.append(f"第 {n} 行：{kind}题至少要有两个选项（选项A、选项B…）")
            continue
        if not raw_key:
            problems.append(f"第 {n} 行「答案」为空")
            continue
        key, why = _key_of(kind, raw_key, options, cfg)
        if key is None:
            problems.append(f"第 {n} 行「答案」：{why}")
            continue
        items.append(BankItem(n, kind, stem, options if kind != "判断" else {}, key,
                              get(cols.get("explanation"))))
    if problems:
        raise BankError(problems)
    return items


# -- from items to statements -------------------------------------------------------------------------------------


def _alternation(words: Iterable[str]) -> str:
    """A regex source that matches any of the words, longest first."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


class Statements:
    """Turns items into statements and reads what each claims (policy/exam.yaml)."""

    def __init__(self, cfg: ExamConfig) -> None:
        self.cfg = cfg
        self.blanks = [re.compile(p) for p in cfg.blanks]
        self.lead = re.compile(cfg.choice_lead)
        self.asks_false_rx = [re.compile(p) for p in cfg.asks_false]
        self.statement_rx = re.compile(cfg.statement_options) if cfg.statement_options else None
        self.lead_anywhere = re.compile(r"[,，]?\s*(?:以下|下列)")
        self.negative = re.compile(_alternation(cfg.claim.negative), re.I)
        self.positive = re.compile(_alternation(cfg.claim.positive), re.I)
        self.modifier_end = re.compile(_alternation(cfg.claim.modifier_end), re.I) if cfg.claim.modifier_end else None
        self.noun_phrase = re.compile(cfg.claim.noun_phrase_option) if cfg.claim.noun_phrase_option else None
        self.noun_phrase_stand_in = cfg.claim.noun_phrase_stand_in
        self.coordination = re.compile(_alternation(cfg.claim.coordination), re.I) if cfg.claim.coordination else None
        self.absolute = re.compile(_alternation(cfg.claim.absolute), re.I) if cfg.claim.absolute else None

    def of(self, item: BankItem) -> list[tuple[str | None, str]]:
        if item.type == "判断":
            return [(None, item.stem)]
        if self.whole_statements(item.stem):
            context = self.lead_anywhere.split(item.stem, maxsplit=1)[0].strip("，, ")
            return [(letter, f"{context}，{option}" if context else option) for letter, option in item.options.items()]
        return [(letter, self.fill(item.stem, option)) for letter, option in item.options.items()]

    def stem_alone(self, item: BankItem) -> str | None:
        """The stem with its blank left empty: what gpskb reads without any option (None for statement options)."""
        if item.type == "判断" or self.whole_statements(item.stem):
            return None
        return self.fill(item.stem, "").strip("：:，, ") or None

    def whole_statements(self, stem: str) -> bool:
        """Whether the options are statements of their own (关于…，下列说法正确的是)."""
        return bool(self.statement_rx and self.statement_rx.search(stem) and self.lead_anywhere.search(stem))

    def asks_false(self, stem: str) -> bool:
        """Whether the stem asks for the options that do not hold (下列说法错误的是)."""
        return any(rx.search(stem) for rx in self.asks_false_rx)

    def fill(self, stem: str, option: str) -> str:
        """The stem with the option in its first blank; without a blank, the option takes the place of 下列…哪些."""
        option = option.strip().rstrip("。；;")
        for blank in self.blanks:
            m = blank.search(stem)
            if m:
                return stem[:m.start()] + option + stem[m.end():]
        m = self.lead.match(stem)
        if m and m.end():
            rest = re.sub(r"的(?:是|有)?[：:]?\s*[？?]?\s*$", "", stem[m.end():]).rstrip("？?：: ")
            return option + rest
        return stem.rstrip("？?：: 。") + "：" + option

    def claims(self, text: str) -> bool:
        """True if the statement says the thing may be done; False if it says it may not. A negative word counts
        unless it only qualifies the subject (a modal word follows it with a modifier end between); a negative inside
        another's scope cancels it, one coordinated with it (…，也不能…) does not."""
        negatives = []
        for m in self.negative.finditer(text):
            after = text[m.end():]
            pos = self.positive.search(after)
            if pos and self.modifier_end and self.modifier_end.search(after[:pos.start()]):
                continue
            negatives.append(m)
        negative = False
        for i, m in enumerate(negatives):
            between = text[negatives[i - 1].end():m.start()] if i else ""
            if i and self.coordination and self.coordination.search(between):
                continue  # 既不能…，也不能…: the same claim again
            negative = not negative
        return not negative

    def claim_text(self, item: BankItem, letter: str | None, text: str) -> str:
        """The words whose negatives make the statement's claim. An option that is a noun phrase put into the stem
        (不属于政府职责范围的服务事项 as an answer to 下列属于…的有) names a thing: its own negative describes the thing
        and says nothing of whether it may be done, so the option's words are left out; an option that is a predicate
        (不得超过3年) keeps them."""
        option = item.options.get(letter or "", "").strip().rstrip("。；;")
        if not option or item.type == "判断" or self.whole_statements(item.stem) or option not in text:
            return text
        if not (self.noun_phrase and self.noun_phrase.match(option)):
            return text
        return text.replace(option, self.noun_phrase_stand_in, 1)

    def absolute_claim(self, text: str) -> bool:
        """Whether the statement grants without exception (只要…即可, 一律, 均可)."""
        return bool(self.absolute and self.absolute.search(text))


def check(engine: Engine, items: list[BankItem], progress: Callable[[int, int], None] | None = None) -> BankReport:
    """Ask gpskb about every statement of every item (each distinct statement once). `progress(done, total)` is
    called after each item."""
    cfg = engine.kb.exam
    reader = Statements(cfg)
    cache: dict[str, StatementCheck] = {}
    checks = []
    def ask(text: str, claim_text: str | None = None) -> StatementCheck:
        if text not in cache:
            claim_text = claim_text or text
            cache[text] = _ask(engine, text, reader.claims(claim_text), cfg, reader.absolute_claim(claim_text))
        return cache[text]

    for i, item in enumerate(items, 1):
        alone = reader.stem_alone(item)
        base = ask(alone) if alone else None
        statements = []
        for letter, text in reader.of(item):
            s = ask(text, reader.claim_text(item, letter, text))
            same = base is not None and (s.verdict, s.rule) == (base.verdict, base.rule)
            if base is not None and s.aspect in cfg.not_in_blanks:
                s = dataclasses.replace(s, holds=None)  # a number put in a blank: the item asks what the text says
            statements.append(dataclasses.replace(s, letter=letter, same_as_stem=same))
        checks.append(_compare(item, statements, reader.asks_false(item.stem)))
        if progress:
            progress(i, len(items))
    return BankReport(checks)


def _ask(engine: Engine, text: str, claims: bool, cfg: ExamConfig, absolute: bool = False) -> StatementCheck:
    """gpskb's answer to one statement, and whether it says the thing may be done: only for a statement read as
    asking whether (cfg.judged_aspects) and decided by a rule that is not a fallback; otherwise undecided. A
    permission granted without exception (`absolute`) holds only where gpskb allows outright, not conditionally."""
    try:
        ans = engine.answer(text)
    except InputError as exc:
        return StatementCheck(None, text, claims, "error", None, error=str(exc))
    aspect = (ans.understood or {}).get("aspect", "")
    rule = next((r["rule_id"] for r in ans.rules if r.get("status") == "decisive"), "")
    judged = aspect in cfg.judged_aspects and rule and not engine.kb.rule(rule).fallback
    holds = cfg.holds.get(ans.verdict) if judged else None
    if holds and claims and absolute and ans.verdict != "allowed":
        holds = False  # 只要…即可: gpskb names conditions the statement says are not needed
    return StatementCheck(None, text, claims, ans.verdict, holds,
                          conclusion=ans.conclusion, citations=[c.clause_id for c in ans.citations], aspect=aspect,
                          rule=rule)


def _compare(item: BankItem, statements: list[StatementCheck], asks_false: bool = False) -> ItemCheck:
    """gpskb's key for the item: for a choice item the options it finds true (false, when the stem asks for the
    wrong statements), and whether that is the bank's key."""
    if item.type == "判断":
        true = statements[0].true
        key = None if true is None else ("对" if true else "错")
        return ItemCheck(item, statements, key, None if key is None else key == item.key)
    if len(statements) > 1 and len({(s.verdict, s.rule) for s in statements}) == 1:
        return ItemCheck(item, statements, None, None)  # one answer for every option: gpskb cannot tell them apart
    wanted = not asks_false
    chosen = "".join(s.letter or "" for s in statements if s.true is wanted)
    unknown = [s.letter for s in statements if s.true is None]
    if not unknown:
        return ItemCheck(item, statements, chosen, chosen == item.key)
    # some options undecided: a disagreement already if a decided option contradicts the key
    contradicts = any(s.true is not None and (s.true is wanted) != ((s.letter or "") in item.key) for s in statements)
    return ItemCheck(item, statements, None, False if contradicts else None)
