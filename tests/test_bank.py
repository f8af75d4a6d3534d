"""Trainers' question banks (gpskb.bank): real CSV and .xlsx files in, every item answered, disagreements listed;
bad files refused whole with every problem named by row; banks kept per trainer in the store."""
from __future__ import annotations

import csv
import io
import json
import threading

import openpyxl
import pytest

from gpskb import bank, cli, cli_commands
from gpskb.bank import BankError, check, parse
from gpskb.bank.statements import Statements
from gpskb.store import Store

HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案"]
# Written for these tests (not from any evaluation file). Keys as the texts decide them.
ROWS = [
    ["判断", "公益一类事业单位不得作为政府购买服务的承接主体。", "", "", "", "", "对"],
    ["判断", "政府购买服务可以采用劳务派遣的方式为机关补充人手。", "", "", "", "", "错"],
    ["单选", "下列事项中，可以作为政府购买服务内容的是（　）。", "由派遣公司向科室派驻三名文员", "新建一座办公楼",
     "聘请律师事务所提供法律顾问服务", "采购一批办公电脑", "C"],
    ["多选", "下列哪些不得纳入政府购买服务范围", "购置办公桌椅", "为社区独居老人提供上门照护",
     "以购买服务的名义为工程项目融资", "由外包公司以机关名义作出行政处罚决定", "ACD"],
]


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows:
        sheet.append([c or None for c in r])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


@pytest.fixture
def cfg(kb):
    return kb.exam


# -- reading ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make,name", [(csv_bytes, "bank.csv"), (xlsx_bytes, "bank.xlsx"),
                                       (lambda r: csv_bytes(r, encoding="gb18030"), "gbk.csv")])
def test_csv_gbk_csv_and_xlsx_read_the_same_items(cfg, make, name):
    items = parse(make(ROWS), name, cfg)
    assert [(i.row, i.type, i.key) for i in items] == [(2, "判断", "对"), (3, "判断", "错"), (4, "单选", "C"),
                                                        (5, "多选", "ACD")]
    assert items[0].options == {} and list(items[2].options) == ["A", "B", "C", "D"]
    assert items[3].options["B"] == "为社区独居老人提供上门照护"


def test_options_in_one_cell_key_spellings_and_english_headings(cfg):
    data = csv_bytes([["单选题", "可以作为承接主体的是（ ）", "A. 公益一类事业单位 B. 依法登记的社会服务机构", "b"],
                      ["是非题", "承接主体可以是企业。", "", "√"],
                      ["multiple", "下列哪些属于禁止事项", "A、购买货物\nB、购买工程\nC、社区矫正辅助服务", "A, B"]],
                     header=["type", "question", "options", "answer"])
    items = parse(data, "en.csv", cfg)
    assert items[0].options == {"A": "公益一类事业单位", "B": "依法登记的社会服务机构"} and items[0].key == "B"
    assert (items[1].type, items[1].key) == ("判断", "对")
    assert items[2].key == "AB" and items[2].options["C"] == "社区矫正辅助服务"


def test_wrong_columns_name_what_is_missing(cfg):
    with pytest.raises(BankError) as exc:
        parse(csv_bytes([["x", "y"]], header=["题目类型X", "内容"]), "bad.csv", cfg)
    assert "第 1 行（表头）缺少列" in str(exc.value) and "题型" in str(exc.value) and "答案" in str(exc.value)


def test_every_bad_row_is_named_and_nothing_is_returned(cfg):
    rows = ROWS + [["判断", "购买主体应当在预算中安排资金。", "", "", "", "", ""],      # row 6: empty key
                   ["问答", "题干", "", "", "", "", "对"],                              # row 7: unknown type
                   ["单选", "下列正确的是（ ）", "甲", "乙", "", "", "AB"],              # row 8: two keys in 单选
                   ["多选", "下列哪些（ ）", "甲", "乙", "", "", "AE"],                 # row 9: E has no option
                   ["判断", "", "", "", "", "", "对"],                                  # row 10: empty stem
                   ["判断", "可以购买。", "", "", "", "", "也许"]]                       # row 11: bad judge key
    with pytest.raises(BankError) as exc:
        parse(csv_bytes(rows), "bad.csv", cfg)
    problems = exc.value.problems
    assert [p.split("：")[0].split("「")[0] for p in problems] == [f"第 {n} 行" for n in range(6, 12)]
    assert "「答案」为空" in problems[0] and "问答" in problems[1] and "只能有一个字母" in problems[2]
    assert "E" in problems[3] and "「题干」为空" in problems[4] and "对 或 错" in problems[5]
    assert str(exc.value).startswith("题库未导入（没有导入任何一题）")


def test_ten_thousand_rows_are_refused_whole(cfg):
    rows = [["判断", f"第{i}题：承接主体可以是企业。", "", "", "", "", "对"] for i in range(10_000)]
    with pytest.raises(BankError) as exc:
        parse(csv_bytes(rows), "big.csv", cfg)
    assert "10,000 题" in str(exc.value) and f"{cfg.limits.max_items:,}" in str(exc.value)


@pytest.mark.parametrize("data,name,says", [
    (b"", "e.csv", "文件是空的"),
    (b"\x00\x01\x02binary\xff\xfe" * 10, "b.csv", "二进制"),
    (b"PK\x03\x04not really a zip", "b.xlsx", "不是有效的 Excel"),
    (b"\xd0\xcf\x11\xe0old excel", "old.xls", ".xls"),
    ("题型,题干,答案\n".encode(), "h.csv", "表头下没有题目"),
])
def test_unreadable_files_get_a_clear_message(cfg, data, name, says):
    with pytest.raises(BankError) as exc:
        parse(data, name, cfg)
    assert says in str(exc.value)


# -- statements ---------------------------------------------------------------------------------------------------


def test_options_go_into_the_blank_or_replace_the_lead(cfg):
    s = Statements(cfg)
    assert s.fill("（　）不得作为承接主体。", "公益一类事业单位") == "公益一类事业单位不得作为承接主体。"
    assert s.fill("下列哪些属于政府购买服务的内容？", "养老服务") == "养老服务属于政府购买服务的内容"
    assert s.fill("下列不属于可购买事项的是：", "劳务派遣") == "劳务派遣不属于可购买事项"
    assert s.fill("关于承接主体，说法正确的是", "企业可以承接") == "关于承接主体，说法正确的是：企业可以承接"


@pytest.mark.parametrize("text,claims", [
    ("公益一类事业单位既不能作为购买主体，也不能作为承接主体", False),
    ("辅助性服务不属于第十条所列不得纳入购买范围的情形", True),
    ("不作为承接主体的群团组织，是指使用事业编制的群团组织", False),
    ("公益一类事业单位不得作为承接主体", False),
    ("劳务派遣不属于政府购买服务的范围", False),
    ("企业可以作为承接主体", True),
    ("不按人头付费、按服务结果付费的社区服务可以购买", True),
    ("Labour dispatch may not be bought as a service", False),
])
def test_what_a_statement_claims(cfg, text, claims):
    assert Statements(cfg).claims(text) is claims


def test_statement_options_are_judged_alone_and_a_stem_may_ask_for_the_wrong_ones(cfg):
    s = Statements(cfg)
    item = parse(csv_bytes([["多选", "关于承接主体，下列说法错误的有（　）", "企业可以承接", "公益一类事业单位可以承接",
                             "", "", "B"]]), "s.csv", cfg)[0]
    assert [t for _, t in s.of(item)] == ["关于承接主体，企业可以承接", "关于承接主体，公益一类事业单位可以承接"]
    assert s.asks_false(item.stem) and s.stem_alone(item) is None
    assert s.absolute_claim("只要列入目录即可购买") and not s.absolute_claim("列入目录并安排预算的可以购买")


def test_a_noun_phrase_option_does_not_carry_its_own_negative_into_the_claim(cfg):
    s = Statements(cfg)
    item = parse(csv_bytes([["多选", "下列属于政府购买服务内容的有（　）", "不属于政府职责范围的服务事项", "不得超过3年",
                             "", "", "A"]]), "s.csv", cfg)[0]
    (a, text_a), (b, text_b) = s.of(item)
    # a thing named by the option (…的服务事项): the stem's claim, which says it is included
    assert s.claims(s.claim_text(item, a, text_a)) is True
    # a predicate put into the blank (不得超过3年) keeps its negative
    assert s.claims(s.claim_text(item, b, text_b)) is False


# -- checking against gpskb ---------------------------------------------------------------------------------------


def test_every_item_is_answered_and_a_wrong_key_is_listed_with_its_clauses(engine, cfg):
    rows = [r[:] for r in ROWS]
    rows[1][6] = "对"  # a wrong key: labour dispatch is prohibited (notice item 11)
    report = check(engine, parse(csv_bytes(rows), "k.csv", cfg))
    assert len(report.items) == 4 and all(c.statements for c in report.items)
    assert all(s.verdict for c in report.items for s in c.statements)
    wrong = report.disagreements
    assert [c.item.row for c in wrong] == [3]
    assert wrong[0].gpskb_key == "错" and wrong[0].statements[0].verdict == "prohibited"
    assert "caizong-2023-12/11" in wrong[0].statements[0].citations
    assert report.summary()["agree"] + report.summary()["disagree"] + report.summary()["undecided"] == 4


def test_a_stem_asking_for_the_wrong_statements_selects_what_gpskb_finds_false(engine, cfg):
    rows = [["多选", "关于政府购买服务的内容，下列说法错误的有（　）", "可以通过政府购买服务方式购买办公电脑",
             "可以通过政府购买服务为社区独居老人购买上门照护服务", "可以通过政府购买服务方式实施劳务派遣用工", "", "AC"]]
    [c] = check(engine, parse(csv_bytes(rows), "f.csv", cfg)).items
    assert [s.true for s in c.statements] == [False, True, False]
    assert c.gpskb_key == "AC" and c.agrees is True


def test_an_option_that_changes_nothing_is_not_judged(engine, cfg):
    # every option read the same way as the stem alone: gpskb cannot tell them apart, so it does not pretend to
    rows = [["单选", "通知在养老领域提出的要求属于（　）方面的内容。", "甲方面", "乙方面", "丙方面", "丁方面", "B"]]
    [c] = check(engine, parse(csv_bytes(rows), "n.csv", cfg)).items
    same = [s for s in c.statements if s.same_as_stem]
    assert len(same) >= 3 and all(s.true is None for s in same) and c.agrees is None


def test_a_choice_item_compares_the_options_gpskb_finds_true(engine, cfg):
    report = check(engine, parse(csv_bytes(ROWS[2:]), "c.csv", cfg))
    single, multiple = report.items
    assert single.gpskb_key == "C" and single.agrees is True
    assert [s.verdict for s in single.statements][:2] == ["prohibited", "prohibited"]
    assert multiple.statements[0].claims is False and multiple.statements[0].true is True  # goods may not be bought


# -- the store: per trainer, all or nothing -----------------------------------------------------------------------


def test_banks_are_kept_per_trainer(tmp_path, cfg):
    store = Store(tmp_path / "s.sqlite3")
    items = parse(csv_bytes(ROWS), "b.csv", cfg)
    bid = store.add_bank("王老师", "第一套", items, filename="b.csv")
    assert [b["name"] for b in store.banks("王老师")] == ["第一套"] and store.banks("李老师") == []
    assert store.bank_items("王老师", bid) == items
    assert store.bank_items("李老师", bid) == []
    assert not store.delete_bank("李老师", bid) and store.delete_bank("王老师", bid)
    assert store.banks("王老师") == [] and store.bank_items("王老师", bid) == []
    with pytest.raises(ValueError, match="培训师"):
        store.add_bank("  ", "x", items)


def test_an_import_that_fails_half_way_leaves_nothing(tmp_path, cfg, monkeypatch):
    store = Store(tmp_path / "s.sqlite3")
    items = parse(csv_bytes(ROWS), "b.csv", cfg)
    real = json.dumps
    calls = []

    def failing(obj, **kw):
        calls.append(obj)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(obj, **kw)

    monkeypatch.setattr("gpskb.store.json.dumps", failing)
    with pytest.raises(OSError):
        store.add_bank("王老师", "第一套", items)
    monkeypatch.setattr("gpskb.store.json.dumps", real)
    assert store.banks("王老师") == []
    assert store.count("bank_items") == 0


def test_two_trainers_importing_at_once_both_land(tmp_path, cfg):
    path = tmp_path / "s.sqlite3"
    items = parse(csv_bytes(ROWS), "b.csv", cfg)
    errors = []

    def go(who):
        try:
            for k in range(5):
                Store(path).add_bank(who, f"第{k}套", items)
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(w,)) for w in ("甲", "乙", "丙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(len(Store(path).banks(w)) == 5 for w in ("甲", "乙", "丙"))


# -- the command ----------------------------------------------------------------------------------------------------


def test_bank_check_command(engine, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(cli_commands, "_engine", lambda args: engine)
    path = tmp_path / "bank.xlsx"
    rows = [r[:] for r in ROWS]
    rows[1][6] = "对"
    path.write_bytes(xlsx_bytes(rows))
    assert cli.main(["bank", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "4 题" in out and "[不一致] 第 3 行 判断" in out and "caizong-2023-12/11" in out
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([["判断", "题干", "", "", "", "", ""]]))
    assert cli.main(["bank", "check", str(bad)]) == cli.EXIT_ERROR
    assert "第 2 行「答案」为空" in capsys.readouterr().err
    assert bank.BankError.__module__ == "gpskb.bank.items"


def test_a_store_opened_while_another_connection_writes_the_new_file_waits_for_it(tmp_path):
    """SQLite refuses a switch to WAL mode at once ("database is locked"), without its busy handler, while another
    connection is writing to the new file (creating the schema): under load, three trainers opening the store together
    lost one import. The switch now waits, within the store's 30 s busy timeout."""
    import sqlite3

    from gpskb.store import Store

    path = tmp_path / "s.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # a new file in rollback mode, another connection writing (its schema)
    release = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        store = Store(path)
        assert store.log_question("q", "allowed", []) > 0
    finally:
        release.join()
        holder.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
