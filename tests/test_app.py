"""The Streamlit app (app.py and ui/), driven in-process with streamlit.testing.v1.AppTest.

Every test gets its own feedback store (GPSKB_STORE in tmp_path) and its own AppTest; the engine is the process-wide
default one (cached by st.cache_resource), loaded by the first test that needs it.
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from streamlit.testing.v1 import AppTest

from gpskb.store import Store

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TIMEOUT = 60
sys.path.insert(0, str(ROOT))  # the ui package (Streamlit adds it itself when it runs app.py)

LABOUR_DISPATCH = "能否以劳务派遣方式通过政府购买服务用工？"
CANTEEN = "机关食堂外包可以吗？"


@pytest.fixture(autouse=True)
def store_path(tmp_path, monkeypatch):
    """A fresh store per test: nothing the app writes lands in data/ or leaks between tests."""
    path = tmp_path / "gpskb.sqlite3"
    monkeypatch.setenv("GPSKB_STORE", str(path))
    return path


def app(query: dict | None = None, embedded: bool = False) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    if embedded:
        at.context = {"is_embedded": True}
    return at


def run(target) -> AppTest:
    """Run the app (an AppTest, or a widget after an interaction) and check no exception was shown."""
    at = target.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def html_of(at: AppTest) -> str:
    return "\n".join(h.value for h in at.html)


def verdicts(at: AppTest) -> list[str]:
    return re.findall(r'data-verdict="([a-z_]+)"', html_of(at))


def badges(at: AppTest) -> list[str]:
    """The words on the verdict badges (after the symbol)."""
    return [html.unescape(b).split(" ", 1)[-1] for b in re.findall(r'<span class="gp-badge">(.*?)</span>', html_of(at))]


def cited(at: AppTest) -> list[tuple[str, str]]:
    """(clause id, label) of each cited clause card, in order."""
    return [(cid, html.unescape(label)) for cid, label in re.findall(
        r'<div class="gp-cite" data-clause="([^"]+)">.*?<span class="gp-cite-label">(.*?)</span>', html_of(at))]


def button(at: AppTest, label_part: str, key_prefix: str = ""):
    found = [b for b in at.button if label_part in b.label and (b.key or "").startswith(key_prefix)]
    assert found, f"no button with {label_part!r} among {[b.label for b in at.button]}"
    return found[0]


def ask(question: str) -> AppTest:
    at = run(app())
    at.text_input(key="q").input(question)
    return run(at)


# ---------------------------------------------------------------------------------------------------------------
# Ask page


def test_ask_shows_verdict_badge_answer_and_cited_clause():
    at = ask(LABOUR_DISPATCH)
    assert verdicts(at) == ["prohibited"]
    assert badges(at) == ["不得购买"]
    page = html_of(at)
    assert "结论：</span>不得纳入政府购买服务范围" in page  # the answer text, line by line
    assert '<span class="gp-conclusion">不得纳入政府购买服务范围</span>' in page  # its 结论 beside the badge
    assert cited(at)[0] == ("caizong-2023-12/11", "（十一）严禁变相用工")  # the deciding clause first
    assert "财综〔2023〕12号" in page
    # the matched sentence and the matched words are highlighted, and the clause links to the full text
    assert re.search(r'<span class="gp-sent">购买主体不得借政府购买服务名义变相', page)
    assert re.search(r'class="gp-sent gp-term">[^<]*劳务派遣', page)
    assert 'href="browse?clause=caizong-2023-12/11"' in page
    # why: the rule trace, decisive rule with its matched word and quote
    assert 'data-rule="ban-disguised-employment"' in page and "决定结论" in page and "「劳务派遣」" in page
    # copy: the answer with its citations in a code block (st.code has a copy button)
    code = at.code[0].value
    assert code.startswith(f"问题：{LABOUR_DISPATCH}") and "引用条款：" in code and "（十一）严禁变相用工：" in code
    assert not at.warning and not at.error
    # internal names stay out of the text: no rule id or priority, no timing; the excerpt's note once per document
    assert "优先级" not in page and "ban-disguised-employment</span>" not in page and "毫秒" not in page
    assert page.count("节选说明：") <= 1 and (page.count("节选说明：") == 1) == ('gp-tag-excerpt">节选' in page)


def test_example_question_button_asks_it():
    at = run(app())
    run(button(at, "机关食堂能否外包", "ex_").click())
    assert at.text_input(key="q").value == "机关食堂能否外包？"
    assert verdicts(at) == ["conditional"]


def test_follow_up_per_head_then_by_results():
    at = ask(CANTEEN)
    assert badges(at) == ["需从严审核"]
    page = html_of(at)
    assert "还需确认一个情况" in page and "按人头计费" in page
    run(button(at, "按人头计费", "fu_").click())
    assert badges(at) == ["不得购买"]
    assert cited(at)[0][0] == "caizong-2023-12/11"
    assert "已按您补充的情况重新判断" in html_of(at)
    run(button(at, "重新选择", "fu_").click())
    assert badges(at) == ["需从严审核"]
    run(button(at, "按服务成果付费", "fu_").click())
    assert badges(at) == ["需从严审核"]
    assert "还需确认一个情况" not in html_of(at)  # the open point is settled
    assert "已按您补充的情况重新判断" in html_of(at)


def test_q_param_prefills_and_answers():
    at = run(app({"q": LABOUR_DISPATCH}))
    assert at.text_input(key="q").value == LABOUR_DISPATCH
    assert badges(at) == ["不得购买"]
    assert ("caizong-2023-12/11", "（十一）严禁变相用工") in cited(at)


def test_embed_is_compact():
    full = run(app({"q": CANTEEN}))
    compact = run(app({"q": CANTEEN}, embedded=True))
    assert any(b.key.startswith("ex_") for b in full.button) and full.title
    assert not any((b.key or "").startswith("ex_") for b in compact.button)  # no examples
    assert not compact.title
    assert verdicts(compact) == ["conditional"]
    # the embed keeps its label and opens the full app (same question, without embed) in a new tab
    assert compact.text_input(key="q").label == "您的问题"
    assert f'href="./?q={quote(CANTEEN)}" target="_blank"' in html_of(compact)
    assert "在完整页面中打开" not in html_of(full)


def test_input_errors_show_a_warning_not_a_traceback():
    at = ask("   ")
    assert "问题为空" in at.warning[0].value and not verdicts(at)
    # the box takes no more than the engine's limit (a 20,000-character paste is cut there, not copied into the URL)
    assert at.text_input(key="q").max_chars == 2000
    # …and a longer question that arrives by a link (?q=) shows in the box cut at the limit, with no error
    at = run(app({"q": "保洁" * 1500}))
    assert len(at.text_input(key="q").value) == 2000 and not at.exception


def test_script_in_question_is_shown_as_text():
    at = ask("<script>alert(1)</script>")
    assert verdicts(at) == ["out_of_scope"]
    assert "<script" not in html_of(at).lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_of(at)
    for element in list(at.markdown) + list(at.caption) + list(at.info):
        assert "<script" not in element.value.lower()
    # a question that is answered (Chinese, cited clauses) with markup in it: the markup is escaped everywhere
    at = ask('<img src=x onerror="alert(1)">机关食堂能否外包')
    assert verdicts(at) == ["conditional"]
    assert "<img" not in html_of(at) and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html_of(at)


# ---------------------------------------------------------------------------------------------------------------
# Feedback, the question log and the admin page


def test_feedback_is_stored(store_path):
    at = ask(LABOUR_DISPATCH)
    at.feedback[0].set_value(0)  # 👎
    at.text_input(key=at.feedback[0].key.replace("fb_rating_", "fb_comment_")).input("应补充劳务外包的情形")
    run(at.form_submit_button[0].click())
    assert "已记录您的反馈" in at.success[0].value
    rows = Store(store_path).feedback()
    assert len(rows) == 1
    row = rows[0]
    assert (row["question"], row["verdict"], row["rating"], row["comment"], row["source"]) == \
        (LABOUR_DISPATCH, "prohibited", -1, "应补充劳务外包的情形", "app")
    assert row["citations"][0] == "caizong-2023-12/11"
    gaps = Store(store_path).gaps()
    assert [(g["kind"], g["question"]) for g in gaps] == [("thumbs_down", LABOUR_DISPATCH)]


def test_feedback_needs_a_rating(store_path):
    at = ask(LABOUR_DISPATCH)
    run(at.form_submit_button[0].click())
    assert "请先点选" in at.warning[0].value
    assert Store(store_path).feedback() == []


ADMIN_PASSWORD = "correct horse battery staple"


def sign_in(at: AppTest, password: str) -> AppTest:
    run(at.switch_page("ui/admin.py"))
    at.text_input(key="admin_password").input(password)
    return run(at.form_submit_button[0].click())


def test_admin_lists_out_of_scope_question(store_path, monkeypatch):
    monkeypatch.setenv("GPSKB_LOG_QUESTIONS", "1")
    monkeypatch.setenv("GPSKB_ADMIN_TOKEN", ADMIN_PASSWORD)
    at = ask("今天天气怎么样")
    assert verdicts(at) == ["out_of_scope"]
    at.text_input(key="q").input("今天天气怎么样")
    run(at)  # asked again in the same session: logged once
    gaps = Store(store_path).gaps()
    assert [(g["kind"], g["question"], g["verdict"], g["source"]) for g in gaps] == \
        [("unanswered", "今天天气怎么样", "out_of_scope", "app")]
    sign_in(at, ADMIN_PASSWORD)
    table = at.dataframe[0].value
    assert list(table["问题"]) == ["今天天气怎么样"]
    assert list(table["结论"]) == ["未涉及"] and list(table["类型"]) == ["未能回答"]
    assert str(store_path) not in html_of(at) + " ".join(c.value for c in at.caption)  # no file path on the page
    run(at.button(key="admin_sign_out").click())
    assert not at.dataframe and at.text_input(key="admin_password")


def test_admin_page_is_closed_until_configured(store_path, monkeypatch):
    """Nothing from the store without sign-in: unconfigured, the page says how to open it; with a password, a wrong one
    shows nothing; a token set to blanks is refused, not read as "no password"."""
    monkeypatch.delenv("GPSKB_ADMIN_TOKEN", raising=False)
    Store(store_path).add_feedback("某人的问题", "no_rule", [], -1, "手机 13812345678")
    at = run(app())
    run(at.switch_page("ui/admin.py"))
    assert not at.dataframe and not at.metric
    assert "GPSKB_ADMIN_TOKEN" in at.info[0].value
    monkeypatch.setenv("GPSKB_ADMIN_TOKEN", ADMIN_PASSWORD)
    at = sign_in(run(app()), "wrong")
    assert not at.dataframe and "密码不正确" in at.error[0].value
    assert at.text_input(key="admin_password").value == ""  # the typed password is not kept
    monkeypatch.setenv("GPSKB_ADMIN_TOKEN", "   ")
    at = run(app())
    run(at.switch_page("ui/admin.py"))
    assert not at.dataframe and "GPSKB_ADMIN_TOKEN" in at.error[0].value
    monkeypatch.setenv("GPSKB_ADMIN_TOKEN", "sha256:" + hashlib.sha256(b"pw").hexdigest())
    at = sign_in(run(app()), "pw")
    table = at.dataframe[0].value
    assert list(table["说明"]) == ["手机 138****5678"]  # masked before it was stored


def test_questions_are_logged_only_when_switched_on_and_asked(store_path, monkeypatch):
    monkeypatch.delenv("GPSKB_LOG_QUESTIONS", raising=False)
    ask("今天天气怎么样")
    assert Store(store_path).gaps() == []  # off by default
    monkeypatch.setenv("GPSKB_LOG_QUESTIONS", "1")
    run(app({"q": "明天会下雨吗"}))  # a page opened from a ?q= link is not a question asked
    assert Store(store_path).gaps() == []
    at = run(app())
    run(at.button(key="ex_0").click())  # an example is asked
    ask("今天天气怎么样")
    assert [g["question"] for g in Store(store_path).gaps()] == ["今天天气怎么样"]  # the example has a rule
    with closing(sqlite3.connect(store_path)) as db:
        logged = [row[0] for row in db.execute("SELECT question FROM questions ORDER BY id")]
    assert logged == [at.text_input(key="q").value, "今天天气怎么样"]


# ---------------------------------------------------------------------------------------------------------------
# Check page


def check_page() -> AppTest:
    at = run(app())
    return run(at.switch_page("ui/check.py"))


def test_check_form_choices_come_from_the_lexicon(kb):
    at = check_page()
    expected = [c.label for c in kb.concepts.values() if c.kind == "service"] + \
               [c.label for c in kb.concepts.values() if c.kind == "auxiliary"]
    assert at.selectbox(key="chk_service").options == expected
    assert at.radio(key="chk_provider").options[1:] == [c.label for c in kb.concepts.values() if c.kind == "provider"]
    assert at.radio(key="chk_mode").options[1:] == [  # the follow-up's wording where one sets exactly that concept
        next((label for fu in kb.follow_ups.values() for label, facts in fu.options if tuple(facts) == (c.id,)),
             c.label) for c in kb.concepts.values() if c.kind == "mode"]
    assert [c.label for c in at.checkbox] == [c.label for c in kb.concepts.values() if c.kind == "employment"]
    asked = {"service", "auxiliary", "provider", "mode", "employment"}
    # every other kind of fact can be given too, except the frame's (the aspect asked, possible readings), which
    # reading a question sets and a form never does
    assert not [k for k in at.multiselect if k.key == "chk_kind_frame"]
    for kind in {c.kind for c in kb.concepts.values()} - asked - {"frame"}:
        assert at.multiselect(key=f"chk_kind_{kind}").options == \
            [c.label for c in kb.concepts.values() if c.kind == kind]


def test_check_with_nothing_chosen_asks_for_a_choice_and_answers_nothing():
    at = check_page()
    run(at.form_submit_button[0].click())
    assert "请至少选择一项情况" in at.warning[0].value
    assert badges(at) == [] and "核查结果" not in html_of(at) and not at.exception


def test_check_form_verdicts():
    at = check_page()
    at.selectbox(key="chk_service").set_value("logistics_service")
    at.radio(key="chk_mode").set_value("per_head_staffing")
    run(at.form_submit_button[0].click())
    assert badges(at) == ["不得购买"] and cited(at)[0][0] == "caizong-2023-12/11"

    at.radio(key="chk_mode").set_value("by_results")
    run(at.form_submit_button[0].click())
    assert badges(at) == ["需从严审核"] and cited(at)[0][0] == "caizong-2023-12/8"

    at.selectbox(key="chk_service").set_value("elderly_care")
    at.radio(key="chk_mode").set_value("")
    run(at.form_submit_button[0].click())
    assert badges(at) == ["可以购买"] and cited(at)[0][0] == "caizong-2023-12/3"

    at.radio(key="chk_purpose").set_value("own")  # for the office's own duties → strictly reviewed
    run(at.form_submit_button[0].click())
    assert badges(at) == ["需从严审核"]

    at.checkbox(key="chk_emp_labour_dispatch").check()  # dispatching staff wins over everything
    run(at.form_submit_button[0].click())
    assert badges(at) == ["不得购买"]
    assert 'data-rule="ban-disguised-employment"' in html_of(at)
    assert "据以判断的情况：养老、政府履职所需辅助服务、劳务派遣" in html_of(at)

    for key in [m.key for m in at.multiselect]:  # the other kinds of facts reach Engine.check too
        first = at.multiselect(key=key).options[0]
        at.multiselect(key=key).select(first)
        run(at.form_submit_button[0].click())
        assert first in re.search(r"据以判断的情况：([^<]*)", html_of(at)).group(1)


# ---------------------------------------------------------------------------------------------------------------
# Browse page


def test_clause_param_opens_and_highlights_the_clause():
    at = run(app({"clause": "caizong-2023-12/11"}))  # on the root URL: routed to the Browse page
    assert "已定位到" in at.success[0].value and "（十一）严禁变相用工" in at.success[0].value
    opened = [e.label for e in at.expander if e.proto.expanded]
    assert opened == ["（十一）严禁变相用工"]
    assert '<p class="gp-clause-text gp-target">购买主体不得借政府购买服务名义变相用工' in html_of(at)
    assert "scrollIntoView" in html_of(at)


def test_unknown_clause_param_warns_with_suggestions():
    at = run(app({"clause": "caizong-2023-12/111"}))
    assert "没有编号为" in at.warning[0].value and "caizong" in at.warning[0].value
    assert not [e for e in at.expander if e.proto.expanded]


def test_browse_shows_every_clause_in_order(kb):
    at = run(app({"clause": "caizong-2023-12/1"}))
    shown = re.findall(r"条款编号 ([^<]+)</p>", html_of(at))
    assert shown == list(kb.clauses)
    items = [c.label for c in kb.clauses.values() if c.document == "caizong-2023-12" and c.kind == "item"]
    assert [e.label for e in at.expander if e.label in items] == items  # items fold away, one expander each


def test_browse_search_substring_and_ranked(kb):
    at = run(app({"clause": "caizong-2023-12/1"}))
    at.text_input(key="browse_q").input("劳务派遣")
    run(at)
    containing = [c.id for c in kb.clauses.values() if "劳务派遣" in c.label + c.text]
    assert f"包含关键词的条款（{len(containing)}）" in [m.value.strip("# ") for m in at.markdown]
    assert [cid for cid, _ in cited(at)] == containing
    assert ("caizong-2023-12/11", "（十一）严禁变相用工") in cited(at)
    assert not any("按相关度" in m.value for m in at.markdown)  # a word: filtering only
    at.text_input(key="browse_q").input("机关食堂能不能外包")
    run(at)
    assert any("按相关度排列的条款" in m.value for m in at.markdown)  # a sentence: ranked too
    assert "caizong-2023-12/8" in [cid for cid, _ in cited(at)[:3]]


# ---------------------------------------------------------------------------------------------------------------
# Training page


def training_page() -> AppTest:
    at = run(app())
    return run(at.switch_page("ui/training.py"))


def score(at: AppTest) -> tuple[int, int]:
    m = re.search(r'data-correct="(\d+)" data-answered="(\d+)"', html_of(at))
    return int(m.group(1)), int(m.group(2))


def current_scenario(at: AppTest, kb) -> dict:
    sid = re.search(r'data-scenario="([^"]+)"', html_of(at)).group(1)
    return next(s for s in kb.training if s["id"] == sid)


def test_quiz_scores_answers(kb):
    at = training_page()
    assert score(at) == (0, 0)
    first = current_scenario(at, kb)
    run(at.button(key=f"quiz_{first['verdict']}").click())
    assert score(at) == (1, 1)
    assert at.success and badges(at)[0] == {"prohibited": "不得购买", "allowed": "可以购买",
                                            "conditional": "需从严审核"}[first["verdict"]]
    assert first["clauses"][0] in [cid for cid, _ in cited(at)]
    run(at.button(key="quiz_next").click())
    second = current_scenario(at, kb)
    assert second["id"] != first["id"]
    wrong = next(v for v in ("allowed", "prohibited", "conditional") if v != second["verdict"])
    run(at.button(key=f"quiz_{wrong}").click())
    assert score(at) == (1, 2)
    assert at.error and "回答不正确" in at.error[0].value


def test_presenter_view_reveals_the_answer(kb):
    at = training_page()
    at.radio(key="train_mode").set_value("讲台演示")
    run(at)
    first = kb.training[0]
    assert 'class="gp-present-text"' in html_of(at) and html.escape(first["scenario"]) in html_of(at)
    assert not verdicts(at)
    run(at.button(key="pres_reveal").click())
    assert verdicts(at) == [first["verdict"]]
    run(at.button(key="pres_next").click())
    assert not verdicts(at) and f'data-scenario="{kb.training[1]["id"]}"' in html_of(at)


# ---------------------------------------------------------------------------------------------------------------
# The HTML pieces, without Streamlit


def test_excerpt_citation_says_so():
    from ui import common

    c = SimpleNamespace(clause_id="mof-order-102/5", document="财政部令第102号", label="第五条", text="各级国家机关是购买主体。",
                        span=(0, 12), terms=["机关"], reason="retrieval", excerpt=True,
                        excerpt_note="仅收录第一条至第十一条<b>")
    out = common.citation_html(c, 2)
    assert '<span class="gp-tag gp-tag-excerpt">节选</span>' in out
    assert "节选说明：仅收录第一条至第十一条&lt;b&gt;" in out
    assert '<span class="gp-sent gp-term">机关</span>' in out
    doc = SimpleNamespace(id="mof-order-102", number="财政部令第102号", title="政府购买服务管理办法", issuer="财政部",
                          excerpt=True, excerpt_note="仅收录部分条文", meta={})
    head = common.document_head_html(doc)
    assert "<b>节选</b>：仅收录部分条文" in head


def test_highlight_escapes_and_marks():
    from ui.common import highlight

    assert highlight("a<b>劳务派遣c", (1, 4), ["劳务派遣"]) == \
        'a<span class="gp-sent">&lt;b&gt;</span><span class="gp-term">劳务派遣</span>c'


# ---------------------------------------------------------------------------------------------------------------
# A knowledge base that cannot load: st.error with the library's message (a fresh process: the engine is cached)


def test_load_error_is_shown_as_an_error(tmp_path):
    script = ("import json; from streamlit.testing.v1 import AppTest\n"
              f"at = AppTest.from_file({str(APP)!r}, default_timeout={TIMEOUT})\n"
              "at.query_params['q'] = '机关食堂能否外包'\n"
              "at.run()\n"
              "print(json.dumps({'error': [e.value for e in at.error],\n"
              "                  'exception': [e.value for e in at.exception]}))\n")
    env = dict(os.environ, GPSKB_POLICY_DIR=str(tmp_path / "no-such-policy"))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["exception"] == []
    assert len(result["error"]) == 1
    assert "知识库无法加载" in result["error"][0] and "policy folder not found" in result["error"][0]


def test_bank_check_lists_where_gpskb_and_the_key_differ(kb, store_path):
    from test_bank import ROWS, csv_bytes

    from gpskb.bank import parse

    rows = [r[:] for r in ROWS]
    rows[1][6] = "对"  # a wrong key: gpskb finds labour dispatch prohibited
    Store(store_path).add_bank("王老师", "第一套", parse(csv_bytes(rows), "b.csv", kb.exam))
    at = training_page()
    at.radio(key="train_mode").set_value("题库核对")
    run(at)
    assert at.info and "培训师" in at.info[0].value
    at.text_input(key="bank_trainer").input("李老师")
    run(at)
    assert any("还没有导入题库" in i.value for i in at.info)  # another trainer's bank is not shown
    at.text_input(key="bank_trainer").input("王老师")
    run(at)
    assert "第一套" in at.selectbox(key="bank_selected").format_func(at.selectbox(key="bank_selected").value)
    run(at.button(key="bank_run").click())
    assert [m.value for m in at.metric][:2] == ["3 / 4", "1"]
    page = html_of(at)
    assert 'data-bank-row="3" data-agrees="false"' in page and 'data-verdict="prohibited"' in page
    assert "data-clause" in page or "caizong-2023-12/11" in page
