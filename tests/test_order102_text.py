"""政府购买服务管理办法（财政部令第102号） in policy/ is the excerpt in policy/sources/mof-order-102-excerpt.md,
character for character: the articles the source shows, nothing more, and every gap it lists marked as missing."""
import re

import pytest
from conftest import POLICY

DOC = "mof-order-102"
PRESENT = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 18, 23, 24]
MISSING = {12, 13, 15, 16, 17, 19, 20, 21, 22}  # and 25 to the end
ENUMS = ["（一）", "（二）", "（三）", "（四）", "（五）", "（六）"]
CHAPTER_TITLES = ["总则", "购买主体和承接主体", "购买内容和目录", "购买活动的实施"]
DIGITS = "零一二三四五六七八九"
ARTICLE_RE = re.compile(r"^\*\*第([一二三四五六七八九十]+)条\*\*\u3000(.*)$")


def cn2int(s: str) -> int:
    """Chinese numerals up to 99: 十 → 10, 十四 → 14, 二十三 → 23."""
    if "十" not in s:
        return DIGITS.index(s)
    tens, ones = s.split("十")
    return (DIGITS.index(tens) if tens else 1) * 10 + (DIGITS.index(ones) if ones else 0)


def article_numbers(text: str) -> tuple[set, bool]:
    """The articles a gap names: 「第十二条、第十三条」, 「第十九条 — 第二十二条」, 「第二十五条 至 末条」 (open end)."""
    nums = [cn2int(n) for n in re.findall(r"第([一二三四五六七八九十]+)条", text)]
    open_end = "末条" in text
    if open_end:
        return {nums[0]}, True
    if len(nums) == 2 and re.search(r"—|至", text):
        return set(range(nums[0], nums[1] + 1)), False
    return set(nums), False


@pytest.fixture(scope="module")
def source_lines():
    return (POLICY / "sources" / "mof-order-102-excerpt.md").read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def source_articles(source_lines):
    """{n: (text, sources)}: the lines after 「**第N条**　」 up to the 「> 」 note, joined with \\n; the note's lines
    without 「> 」 and without the leading 「Sources: 」/「Source: 」 label, joined with \\n."""
    articles, i = {}, 0
    while i < len(source_lines):
        m = ARTICLE_RE.match(source_lines[i])
        if not m:
            i += 1
            continue
        n, lines = cn2int(m.group(1)), [m.group(2)]
        i += 1
        while not source_lines[i].startswith("> "):
            assert source_lines[i].strip(), f"blank line inside article {n} before its Sources note"
            lines.append(source_lines[i])
            i += 1
        notes = []
        while i < len(source_lines) and source_lines[i].startswith("> "):
            notes.append(source_lines[i][2:])
            i += 1
        assert re.match(r"Sources?: ", notes[0]), n
        notes[0] = re.sub(r"^Sources?: ", "", notes[0])
        assert n not in articles, n
        articles[n] = ("\n".join(lines), "\n".join(notes))
    return articles


@pytest.fixture(scope="module")
def source_gaps(source_lines):
    """The gaps the source lists: the bold 「… — MISSING」 headings, as (set of article numbers, open-ended)."""
    gaps = []
    for line in source_lines:
        m = re.match(r"^\*\*(.*?) — MISSING", line)
        if m:
            gaps.append(article_numbers(m.group(1)))
    return gaps


@pytest.fixture(scope="module")
def unplaced_source_lines(source_lines):
    """The bullet lines of regulation text (not the [XX] source list) that the source shows without article numbers."""
    return [line[2:] for line in source_lines if line.startswith("- ") and not line.startswith("- [")]


@pytest.fixture(scope="module")
def order(kb):
    return [c for c in kb.clauses.values() if c.document == DOC]


def articles_of(order):
    return {int(c.id.split("/")[1]): c for c in order if c.kind == "article"}


def test_source_shows_the_expected_articles(source_articles):
    assert sorted(source_articles) == PRESENT


def test_every_article_is_the_source_text_character_for_character(order, source_articles):
    articles = articles_of(order)
    for n, (text, _) in source_articles.items():
        assert articles[n].text == text, f"第{n}条 differs from the source"


def test_articles_present_are_exactly_those_in_the_source(order, source_articles):
    articles = articles_of(order)
    assert sorted(articles) == PRESENT == sorted(source_articles)
    assert [c.id for c in order if c.kind == "article"] == [f"{DOC}/{n}" for n in PRESENT]  # document order
    for n, c in articles.items():
        assert re.fullmatch(r"第[一二三四五六七八九十]+条", c.number) and cn2int(c.number[1:-1]) == n, c.id


def test_nothing_is_invented_for_missing_articles(order):
    for c in order:
        head = c.id.split("/")[1]
        if head.isdigit():
            assert int(head) not in MISSING and int(head) <= 24, c.id
        for m in re.finditer(r"^第([一二三四五六七八九十]+)条", c.number or ""):
            assert cn2int(m.group(1)) in PRESENT, c.id


def test_article_ten_items_are_the_source_lines_without_enumerators(kb, source_articles):
    lines = source_articles[10][0].split("\n")
    assert lines[0] == "以下各项不得纳入政府购买服务范围："
    assert [line[:3] for line in lines[1:]] == ENUMS
    items = [c for c in kb.clauses.values() if c.kind == "article-item" and c.document == DOC]
    assert [c.id for c in items] == [f"{DOC}/10/{k}" for k in range(1, 7)]
    for c, enum, line in zip(items, ENUMS, lines[1:], strict=False):
        assert c.text == line[len(enum):], c.id
        assert c.number == f"第十条第{enum}项", c.id
        assert c.part == f"{DOC}/10", c.id
        assert c.sources == source_articles[10][1], c.id
    assert items[-1].text.endswith("。") and all(c.text.endswith("；") for c in items[:-1])


def test_every_article_has_its_sources_note(order, source_articles):
    articles = articles_of(order)
    for n, (_, sources) in source_articles.items():
        assert articles[n].sources and articles[n].sources == sources, f"第{n}条 sources"


def test_chapters_are_the_source_headings(order, source_lines):
    headings = [line[3:] for line in source_lines if line.startswith("## 第")]
    chapters = [c for c in order if c.kind == "chapter"]
    assert [c.id for c in chapters] == [f"{DOC}/chapter-{k}" for k in range(1, 6)]
    for c, title, heading in zip(chapters, CHAPTER_TITLES, headings, strict=False):
        assert c.title == title and c.text == heading == f"{c.number}\u3000{title}", c.id
    fifth = chapters[4]
    assert headings[4].startswith("第五章（title not shown by any source")
    assert fifth.number == "第五章" and fifth.title is None and "未见" in fifth.text


def test_articles_sit_in_their_chapters(order):
    articles = articles_of(order)
    chapter_of = {1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 2, 7: 2, 8: 2, 9: 3, 10: 3, 11: 3, 14: 4, 18: 4, 23: 5, 24: 5}
    for n, k in chapter_of.items():
        assert articles[n].part == f"{DOC}/chapter-{k}", n


def test_unplaced_lines_are_notes_without_an_article_number(order, unplaced_source_lines):
    notes = [c for c in order if c.kind == "note"]
    assert [c.id for c in notes] == [f"{DOC}/unplaced-{k}" for k in range(1, 5)]
    assert [c.text for c in notes] == unplaced_source_lines
    for c in notes:
        assert c.number == "条号不详" and not re.search(r"第[一二三四五六七八九十]+条", c.number), c.id
        assert c.sources and ("NOT known" in c.sources or "not determinable" in c.sources), c.id
    assert [c.part for c in notes] == [f"{DOC}/chapter-3"] * 2 + [f"{DOC}/chapter-4"] * 2
    ids = [c.id for c in order]
    assert ids.index(f"{DOC}/11") < ids.index(f"{DOC}/unplaced-1") < ids.index(f"{DOC}/chapter-4")
    assert ids.index(f"{DOC}/chapter-4") < ids.index(f"{DOC}/unplaced-3") < ids.index(f"{DOC}/18")


def test_document_is_marked_as_an_excerpt(kb):
    d = kb.documents[DOC]
    assert d.excerpt is True
    assert "节选" in d.excerpt_note and "公开转载" in d.excerpt_note and "官方文本核对" in d.excerpt_note
    assert (d.number, d.title, d.issuer) == ("财政部令第102号", "政府购买服务管理办法", "财政部")
    assert (d.meta["published_on"], d.meta["effective_on"]) == ("2020年1月3日", "2020年3月1日")
    assert d.meta["source"] == "sources/mof-order-102-excerpt.md"


def test_provenance_lists_every_source_tag(kb, source_lines):
    tags = [line[2:6] for line in source_lines if re.match(r"^- \[[A-Z]{2}\] ", line)]
    assert tags == ["[GD]", "[GS]", "[TR]", "[EL]", "[SL]", "[WN]", "[QZ]"]
    provenance = {p["tag"]: p["description"] for p in kb.documents[DOC].meta["provenance"]}
    assert list(provenance) == tags
    for line in source_lines:
        if re.match(r"^- \[[A-Z]{2}\] ", line):
            assert provenance[line[2:6]] == line[7:], line[2:6]
    assert provenance["[GD]"].endswith("Official.") and provenance["[GS]"].endswith("Official.")
    assert provenance["[TR]"].endswith("Not official.") and provenance["[EL]"].endswith("Not official.")


def test_every_gap_in_the_source_is_listed_as_missing(kb, source_gaps):
    listed = [article_numbers(m["articles"]) for m in kb.documents[DOC].meta["missing"]]
    assert listed == source_gaps
    assert [m["articles"] for m in kb.documents[DOC].meta["missing"]] == [
        "第十二条、第十三条", "第十五条至第十七条", "第十九条至第二十二条", "第二十五条至末条"]
    covered = set().union(*(nums for nums, _ in listed))
    assert MISSING <= covered and not covered & set(PRESENT)
    assert listed[-1] == ({25}, True)
    assert all(m["note"].strip() for m in kb.documents[DOC].meta["missing"])


def test_clause_ids_are_unique_and_follow_the_scheme(order):
    ids = [c.id for c in order]
    assert len(ids) == len(set(ids)) == 5 + 15 + 6 + 4
    pattern = re.compile(rf"^{DOC}/(chapter-[1-5]|unplaced-[1-4]|\d+|10/[1-6])$")
    for c in order:
        assert pattern.match(c.id), c.id
        kind = {"chapter": "chapter", "unplaced": "note"}.get(re.sub(r"-\d+$", "", c.id.split("/")[1]))
        if kind:
            assert c.kind == kind, c.id
        elif c.id.count("/") == 2:
            assert c.kind == "article-item", c.id
        else:
            assert c.kind == "article", c.id


def test_every_part_reference_resolves_within_the_document(kb, order):
    for c in order:
        if c.kind in ("article", "article-item", "note"):
            assert c.part and kb.clause(c.part).document == DOC, c.id
