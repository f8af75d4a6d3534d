"""培训练习: the scenarios of policy/training.yaml. Quiz mode: a scenario, the learner's choice, then the correct
answer with its explanation and clauses, a running score and the next question. Presenter view: one scenario at a
time in large type for a room, with a reveal button."""
import random

import streamlit as st

from ui import common as ui

CHOICES = {"allowed": "可以购买", "prohibited": "不可以购买", "conditional": "需从严审核"}
CHOICE_ICONS = {"allowed": ":material/check_circle:", "prohibited": ":material/block:",
                "conditional": ":material/warning:"}
MODES = ("答题练习", "讲台演示", "题库核对")


def _answer(sid: str, choice: str) -> None:
    st.session_state.setdefault("quiz_answers", {})[sid] = choice


def _step(key: str, delta: int, n: int) -> None:
    st.session_state[key] = (st.session_state.get(key, 0) + delta) % n
    st.session_state["pres_revealed"] = False


def _restart(n: int) -> None:
    st.session_state["quiz_answers"] = {}
    st.session_state["quiz_pos"] = 0
    st.session_state["quiz_order"] = random.sample(range(n), n)


def _reveal() -> None:
    st.session_state["pres_revealed"] = True


def explanation_html(text: str) -> str:
    """The explanation with the notice's own words (inside 「」) set off."""
    return ui.esc(text).replace("「", '「<b>').replace("」", "</b>」")


def clauses_html(kb, ids) -> str:
    return "".join(ui.clause_html(kb.clauses[cid], kb, n=i) for i, cid in enumerate(ids, 1) if cid in kb.clauses)


def quiz(kb, scenarios) -> None:
    n = len(scenarios)
    if "quiz_order" not in st.session_state or len(st.session_state["quiz_order"]) != n:
        _restart(n)
    answers = st.session_state.setdefault("quiz_answers", {})
    by_id = {s["id"]: s for s in scenarios}
    done = [sid for sid in answers if sid in by_id]
    correct = sum(answers[sid] == by_id[sid]["verdict"] for sid in done)
    st.html(f'<div class="gp-quiz-score" data-correct="{correct}" data-answered="{len(done)}">'
            f'<span class="gp-score">得分 {correct} / {len(done)}</span>'
            f'<span class="gp-muted">　已答 {len(done)} 题，共 {n} 题</span></div>')
    st.progress(len(done) / n)

    pos = st.session_state.get("quiz_pos", 0)
    if pos >= n:
        st.success(f"全部 {n} 题已完成：答对 {correct} 题。")
        st.button("重新开始", key="quiz_restart", on_click=_restart, args=(n,), icon=":material/restart_alt:")
        return
    sc = scenarios[st.session_state["quiz_order"][pos]]
    with st.container(border=True):
        st.html(f'<div data-scenario="{ui.esc(sc["id"])}"><p class="gp-muted">第 {pos + 1} 题 · '
                f'{ui.esc(sc["title"])}</p><p style="font-size:1.15rem;line-height:1.8">{ui.esc(sc["scenario"])}'
                "</p></div>")
        chosen = answers.get(sc["id"])
        if chosen is None:
            st.markdown("**您的判断：**")
            with st.container(horizontal=True):
                for verdict, label in CHOICES.items():
                    st.button(label, key=f"quiz_{verdict}", on_click=_answer, args=(sc["id"], verdict),
                              icon=CHOICE_ICONS[verdict])
            return
    if chosen == sc["verdict"]:
        st.success("回答正确！", icon=":material/check_circle:")
    else:
        st.error(f"回答不正确：您选的是「{CHOICES[chosen]}」。", icon=":material/cancel:")
    st.html(ui.verdict_html(sc["verdict"]))
    st.html(f'<div class="gp-memo"><p><span class="gp-k">解析：</span>{explanation_html(sc["explanation"])}</p></div>')
    st.markdown("##### 依据条款")
    st.html(clauses_html(kb, sc["clauses"]))
    c1, c2 = st.columns(2)
    c1.button("下一题 ▶", key="quiz_next", type="primary", width="stretch",
              on_click=lambda: st.session_state.update(quiz_pos=pos + 1))
    c2.button("重新开始", key="quiz_restart", on_click=_restart, args=(n,), width="stretch")


def presenter(kb, scenarios) -> None:
    n = len(scenarios)
    if st.session_state.get("pres_pos", 0) >= n:
        st.session_state["pres_pos"] = 0
    c1, c2, c3 = st.columns([1, 1, 4], vertical_alignment="bottom")
    c1.button("◀ 上一题", key="pres_prev", on_click=_step, args=("pres_pos", -1, n), width="stretch")
    c2.button("下一题 ▶", key="pres_next", on_click=_step, args=("pres_pos", 1, n), width="stretch")
    pos = c3.selectbox("题目", range(n), key="pres_pos", label_visibility="collapsed",
                       format_func=lambda i: f"第 {i + 1} / {n} 题：{scenarios[i]['title']}",
                       on_change=lambda: st.session_state.update(pres_revealed=False))
    sc = scenarios[pos]
    st.caption("点「揭晓答案」前，请学员先举手表决：可以购买、不可以购买，还是需从严审核？")
    st.html(f'<div class="gp-present" data-scenario="{ui.esc(sc["id"])}">'
            f'<p class="gp-present-title">{ui.esc(sc["title"])}</p>'
            f'<p class="gp-present-text">{ui.esc(sc["scenario"])}</p></div>')
    if not st.session_state.get("pres_revealed"):
        st.button("揭晓答案", key="pres_reveal", type="primary", on_click=_reveal, icon=":material/visibility:")
        return
    cites = "、".join(f"{kb.document_of(kb.clauses[c]).number} {kb.clauses[c].label}"
                     for c in sc["clauses"] if c in kb.clauses)
    st.html(f'<div class="gp-present">{ui.verdict_html(sc["verdict"])}'
            f'<p class="gp-present-expl">{explanation_html(sc["explanation"])}</p>'
            f'<p class="gp-present-cites">依据：{ui.esc(cites)}</p></div>')


def main() -> None:
    ui.style()
    kb = ui.engine().kb
    scenarios = kb.training
    mode = st.radio("模式", MODES, horizontal=True, key="train_mode", label_visibility="collapsed")
    if mode == MODES[2]:
        from ui import bank

        bank.main(kb)
        return
    if mode == MODES[1]:
        st.set_page_config(layout="wide")
    else:
        st.title("培训练习")
        st.caption("每题是一个真实情形：先作出判断，再看正确答案、解析和依据条款。")
    if not scenarios:
        st.info("policy/training.yaml 中还没有培训题目。")
        return
    (presenter if mode == MODES[1] else quiz)(kb, scenarios)


main()
