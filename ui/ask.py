"""问答: a question in words → the verdict, the answer text, the cited clauses, why, a follow-up when a deciding fact
is open, copy and feedback. ?q=… pre-fills and answers (the input is bound to the URL); ?embed=true is compact."""
from urllib.parse import quote

import streamlit as st

from gpskb.errors import GpskbError, InputError
from ui import common as ui

EXAMPLES = [
    "能否以劳务派遣方式通过政府购买服务用工？",
    "机关食堂能否外包？",
    "办公楼保洁按人头计费、人员由我们管理，可以吗？",
    "向养老机构购买居家养老上门服务可以吗？",
    "能否通过政府购买服务设置公益性岗位？",
    "政府购买服务项目的绩效评价怎么做？",
]


def _use_example(text: str) -> None:
    st.session_state["q"] = text
    _entered()


def _entered() -> None:
    """The question in the box was asked in this session (typed or an example), not brought in by a `?q=` link:
    only such questions are logged."""
    st.session_state["q_entered"] = st.session_state.get("q", "")


def _choose(question: str, follow_up_id: str, label: str, facts: list) -> None:
    chosen = st.session_state.setdefault("ask_chosen", {})
    chosen[question] = [c for c in chosen.get(question, []) if c[0] != follow_up_id] + [(follow_up_id, label, facts)]


def _reset(question: str) -> None:
    st.session_state.setdefault("ask_chosen", {}).pop(question, None)


def follow_up_section(question: str, answer, base, chosen: list):
    """The follow-up box: the open question with one button per option; once chosen, what was chosen and a reset."""

    def draw():
        if chosen:
            with st.container(border=True):
                picked = "；".join(c[1] for c in chosen)
                st.html(f"<p><b>已按您补充的情况重新判断：</b>{ui.esc(picked)}</p>"
                        f'<p class="gp-muted">未补充时的结论：{ui.esc(base.badge)}</p>')
                st.button("重新选择", key="fu_reset", on_click=_reset, args=(question,), icon=":material/undo:")
        for i, fu in enumerate(answer.follow_ups):
            with st.container(border=True, key=f"followup-{i}"):
                st.html(f"<p><b>还需确认一个情况，结论取决于它：</b></p><p>{ui.esc(fu.question)}</p>")
                for j, opt in enumerate(fu.options):
                    st.button(opt["label"], key=f"fu_{i}_{j}", on_click=_choose,
                              args=(question, fu.id, opt["label"], list(opt["facts"])), width="stretch")

    return draw


def main() -> None:
    ui.style()
    compact = ui.embedded()
    if not compact:
        st.title("政府购买服务：能不能买？")
        st.caption("输入要通过政府购买服务方式购买的事项，按回车。结论由明确的规则作出，并附上作为依据的条款原文。")
    engine = ui.engine()
    # the engine's own limit (policy/language.yaml max_question_chars): a 20,000-character paste is cut at the box, not
    # copied into the URL and refused after a reload
    question = st.text_input("您的问题", key="q", bind="query-params", max_chars=engine.max_chars, on_change=_entered,
                             placeholder="例如：能否以劳务派遣方式通过政府购买服务用工？（输入后按回车）")
    if compact:  # the embed keeps its label and hint, and opens the full app (examples, browse, check) in a new tab
        full = "./" + (f"?q={quote(question)}" if question else "")
        st.html(f'<p class="gp-muted"><a href="{ui.esc(full)}" target="_blank" rel="noopener">在完整页面中打开 ↗</a></p>')
    if not compact:
        st.caption("示例问题（点击即可提问）：")
        with st.container(horizontal=True, key="examples"):
            for i, ex in enumerate(EXAMPLES):
                st.button(ex, key=f"ex_{i}", on_click=_use_example, args=(ex,))

    if not question:
        if not compact:
            docs = "、".join(f"{d.number}《{d.title}》" + ("（节选）" if d.excerpt else "")
                            for d in engine.kb.documents.values())
            st.info(f"知识库收录：{docs}。可在左侧「政策原文」查看全文，「资格核查」按表单逐项判断。", icon=":material/library_books:")
        return

    chosen = st.session_state.setdefault("ask_chosen", {}).get(question, [])
    facts = [f for c in chosen for f in c[2]]
    try:
        base = engine.answer(question)
        answer = engine.answer(question, facts=facts) if facts else base
    except InputError as exc:  # empty, too long, not text: say what is wrong with the question
        st.warning(str(exc))
        return
    except GpskbError as exc:  # the library failed (e.g. the rule engine): its message, never a traceback
        st.error(f"无法回答：{exc}")
        return
    ui.log_question(question, answer, asked=st.session_state.get("q_entered") == question)
    key = ui.answer_key(question, answer)
    between = follow_up_section(question, answer, base, chosen) if (answer.follow_ups or chosen) else None
    ui.render_answer(answer, engine.kb, question, key=key, between=between)


main()
