"""The notice in policy/ is the source text, character for character, after only the four page-break repairs."""
import re

import pytest
from conftest import POLICY

PAGE_BREAKS = {"贯\n\n彻落实": "贯彻落实", "事业\n\n单位政府购买服务": "事业单位政府购买服务",
               "违规失信\n\n承接主体": "违规失信承接主体", "创新\n\n宣传形式": "创新宣传形式"}
ITEM_TITLES = ["增强就业服务扶持", "提高教育医疗卫生服务能力", "优化社区社会保障服务", "创新生态环境治理机制", "助力乡村振兴",
               "深化事业单位政府购买服务改革", "探索创新经济高质量发展支持方式", "强化项目审核", "加强绩效管理", "切实防范风险",
               "严禁变相用工", "完善信息报送", "抓好部署落实", "增强激励约束", "加强宣传引导"]
NUMBERS = ["（一）", "（二）", "（三）", "（四）", "（五）", "（六）", "（七）", "（八）", "（九）", "（十）", "（十一）", "（十二）",
           "（十三）", "（十四）", "（十五）"]


@pytest.fixture(scope="module")
def paragraphs():
    text = (POLICY / "sources" / "caizong-2023-12.txt").read_text(encoding="utf-8")
    for broken, whole in PAGE_BREAKS.items():
        assert text.count(broken) == 1, f"page break {broken!r} not found exactly once in the source"
        text = text.replace(broken, whole)
    return [p.strip() for p in text.split("\n") if p.strip()]


@pytest.fixture(scope="module")
def notice(kb):
    return [c for c in kb.clauses.values() if c.document == "caizong-2023-12"]


def test_every_clause_is_a_source_paragraph_character_for_character(notice, paragraphs):
    for c in notice:
        if c.kind == "item":
            assert f"{c.number}{c.title}。{c.text}" in paragraphs, c.id
        elif c.kind == "part":
            heading = f"{c.number}{c.title}"
            assert any(re.fullmatch(r"#+ " + re.escape(heading), p) for p in paragraphs), c.id
            assert paragraphs[paragraphs.index(next(p for p in paragraphs if p.endswith(heading))) + 1] == c.text, c.id
        else:
            for line in c.text.split("\n"):
                assert line in paragraphs, (c.id, line)


def test_all_source_paragraphs_are_in_the_policy_data(notice, paragraphs):
    """Nothing of the notice's body is left out (headers, the title and separators are metadata)."""
    texts = set()
    for c in notice:
        if c.kind == "item":
            texts.add(f"{c.number}{c.title}。{c.text}")
        elif c.kind == "part":
            texts.add(c.text)
        else:
            texts.update(c.text.split("\n"))
    body = [p for p in paragraphs if not p.startswith("#") and p != "---"]
    meta = {"财综〔2023〕12号"}
    missing = [p for p in body if p not in texts and p not in meta and not p.startswith("党中央有关部门")]
    assert missing == []


def test_fifteen_numbered_items_in_order_with_their_titles(notice):
    items = [c for c in notice if c.kind == "item"]
    assert [c.number for c in items] == NUMBERS
    assert [c.title for c in items] == ITEM_TITLES
    assert [c.id for c in items] == [f"caizong-2023-12/{i}" for i in range(1, 16)]


def test_stable_clause_ids(notice):
    ids = [c.id for c in notice]
    assert ids[0] == "caizong-2023-12/preamble" and ids[-1] == "caizong-2023-12/closing"
    assert {"caizong-2023-12/part-1", "caizong-2023-12/part-2", "caizong-2023-12/part-3"} <= set(ids)
    assert len(ids) == len(set(ids)) == 20


def test_parts_hold_their_items(kb):
    parts = {c.id: c.part for c in kb.clauses.values() if c.kind == "item" and c.document == "caizong-2023-12"}
    assert parts["caizong-2023-12/1"] == parts["caizong-2023-12/7"] == "caizong-2023-12/part-1"
    assert parts["caizong-2023-12/8"] == parts["caizong-2023-12/12"] == "caizong-2023-12/part-2"
    assert parts["caizong-2023-12/13"] == parts["caizong-2023-12/15"] == "caizong-2023-12/part-3"


def test_document_metadata(kb):
    d = kb.documents["caizong-2023-12"]
    assert d.number == "财综〔2023〕12号"
    assert d.title == "财政部关于做好2023年政府购买服务改革重点工作的通知"
    assert d.issuer == "财政部"
    assert d.meta["disclosure"] == "主动公开"
    assert d.meta["copied_to"] == "财政部各地监管局"
    assert (d.meta["printed_by"], d.meta["printed_on"]) == ("财政部办公厅", "2023年4月10日")
    assert d.meta["addressees"].startswith("党中央有关部门，国务院各部委")
    assert d.excerpt is False


def test_item_eleven_is_the_ban(kb):
    c = kb.clause("caizong-2023-12/11")
    assert c.label == "（十一）严禁变相用工"
    assert c.text.startswith("购买主体不得借政府购买服务名义变相用工")
