"""Reading a bank file: a CSV (UTF-8 or GBK) or .xlsx file of 判断/单选/多选 items with their keys, its columns
found by the headings policy/exam.yaml lists. All or nothing: any bad row refuses the whole file with every problem
listed by row and column."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from typing import Any

from ..schema.exam import ExamConfig
from ..text import normalise
from .items import BankError, BankItem

LETTERS = "ABCDEF"


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
