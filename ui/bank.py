"""培训练习 → 题库核对: a trainer imports a question bank (CSV or .xlsx: 题型,题干,选项A…,答案), kept under their own
name in the store, and runs every item through gpskb: where gpskb's reading and the key disagree, both are shown with
the clauses — a check of the bank and of the product. The reading and checking live in gpskb.bank."""
from __future__ import annotations

import streamlit as st

from gpskb.bank import TRUTH_LABEL
from ui import common as ui

TEMPLATE = "题型,题干,选项A,选项B,选项C,选项D,答案\n判断,（题干）,,,,,对\n单选,（题干，空处写作（　））,…,…,…,…,A\n多选,下列哪些…,…,…,…,…,ABD\n"


def _import(trainer: str, upload) -> None:
    from gpskb.bank import BankError, parse

    kb = ui.engine().kb
    try:
        items = parse(upload.getvalue(), upload.name, kb.exam)
        bank_id = ui.store().add_bank(trainer, upload.name.rsplit(".", 1)[0], items, filename=upload.name)
    except (BankError, ValueError) as exc:
        st.session_state["bank_message"] = ("error", str(exc))
        return
    st.session_state["bank_message"] = ("success", f"已导入「{upload.name}」共 {len(items)} 题。")
    st.session_state["bank_selected"] = bank_id
    st.session_state.pop("bank_report", None)


def _run(trainer: str, bank_id: int) -> None:
    from gpskb.bank import check

    items = ui.store().bank_items(trainer, bank_id)
    bar = st.progress(0.0, text="正在逐题核对…")
    report = check(ui.engine(), items, progress=lambda i, n: bar.progress(i / n, text=f"已核对 {i} / {n} 题"))
    bar.empty()
    st.session_state["bank_report"] = (trainer, bank_id, report)


def _statement_html(s, kb) -> str:
    head = f"<b>{ui.esc(s.letter)}.</b> " if s.letter else ""
    cites = "、".join(f"{kb.document_of(kb.clauses[c]).number} {kb.clauses[c].label}"
                     for c in s.citations[:2] if c in kb.clauses)
    verdict = ui.verdict_html(s.verdict, conclusion=s.conclusion) if s.verdict in ui.VERDICT_ICON \
        else f'<p class="gp-muted">{ui.esc(s.error or s.verdict)}</p>'
    return (f'<div class="gp-bank-statement" data-true="{ui.esc(str(s.true).lower())}">'
            f'<p>{head}{ui.esc(s.text)}</p>{verdict}<p class="gp-muted">gpskb 认为该表述：{TRUTH_LABEL[s.true]}'
            f'{"　依据：" + ui.esc(cites) if cites else ""}</p></div>')


def _item(c, kb) -> None:
    it = c.item
    mark = {False: "不一致", None: "gpskb 未判断", True: "一致"}[c.agrees]
    with st.expander(f"第 {it.row} 行 · {it.type} · {mark}：{it.stem[:40]}"):
        st.html(f'<div data-bank-row="{it.row}" data-agrees="{ui.esc(str(c.agrees).lower())}">'
                f'<p>{ui.esc(it.stem)}</p>'
                + "".join(f"<p>{ui.esc(k)}. {ui.esc(v)}</p>" for k, v in it.options.items())
                + f'<p><span class="gp-k">题库答案：</span>{ui.esc(it.key)}　<span class="gp-k">gpskb：</span>'
                f'{ui.esc(c.gpskb_key or "—")}</p></div>')
        if it.explanation:
            st.caption(f"题库解析：{it.explanation}")
        st.html("".join(_statement_html(s, kb) for s in c.statements))
        first = next((cid for s in c.statements for cid in s.citations), None)
        if first and first in kb.clauses:
            st.markdown("##### 依据条款")
            st.html(ui.clause_html(kb.clauses[first], kb))


def _report(report, kb) -> None:
    s = report.summary()
    c1, c2, c3 = st.columns(3)
    c1.metric("与答案一致", f"{s['agree']} / {s['items']}")
    c2.metric("不一致", s["disagree"])
    c3.metric("gpskb 未判断", s["undecided"])
    st.caption("「不一致」既可能是题库答案有误，也可能是 gpskb 理解有误：请对照条款原文逐题核实。"
               "选择题逐项判断，每个选项都判断一致才算一致。")
    show = st.radio("显示", ("不一致", "gpskb 未判断", "全部"), horizontal=True, key="bank_show")
    chosen = {"不一致": report.disagreements, "gpskb 未判断": report.undecided, "全部": report.items}[show]
    if not chosen:
        st.info("没有此类题目。")
    for c in chosen:
        _item(c, kb)


def main(kb) -> None:
    st.title("题库核对")
    st.caption("导入您自己的题库（CSV 或 Excel .xlsx），gpskb 逐题作答，并列出与题库答案不一致的题目和依据条款。"
               "题库按培训师分别保存，不随软件分发。")
    trainer = st.text_input("培训师", key="bank_trainer", placeholder="姓名或账号").strip()
    if not trainer:
        st.info("请先填写培训师姓名或账号。")
        return
    with st.form("bank_import", clear_on_submit=True):
        upload = st.file_uploader("题库文件", type=["csv", "xlsx"], key="bank_file",
                                  help="表头：题型,题干,选项A,选项B,选项C,选项D,答案。题型为 判断/单选/多选；"
                                       "判断题答案写 对/错，选择题写字母（如 ABD）。")
        if st.form_submit_button("导入", icon=":material/upload_file:") and upload is not None:
            _import(trainer, upload)
    st.download_button("下载模板 (CSV)", TEMPLATE.encode("utf-8-sig"), file_name="题库模板.csv", mime="text/csv")
    kind, message = st.session_state.pop("bank_message", (None, None))
    if kind:
        (st.error if kind == "error" else st.success)(message)
    banks = ui.store().banks(trainer)
    if not banks:
        st.info("您还没有导入题库。")
        return
    ids = [b["id"] for b in banks]
    labels = {b["id"]: f"{b['name']}（{b['n_items']} 题，{b['created_at'][:10]}）" for b in banks}
    if st.session_state.get("bank_selected") not in ids:
        st.session_state["bank_selected"] = ids[0]
    bank_id = st.selectbox("题库", ids, key="bank_selected", format_func=labels.get)
    c1, c2 = st.columns(2)
    if c1.button("逐题核对", key="bank_run", type="primary", icon=":material/fact_check:", width="stretch"):
        _run(trainer, bank_id)
    if c2.button("删除该题库", key="bank_delete", icon=":material/delete:", width="stretch"):
        ui.store().delete_bank(trainer, bank_id)
        st.session_state.pop("bank_report", None)
        st.rerun()
    saved = st.session_state.get("bank_report")
    if saved and saved[:2] == (trainer, bank_id):
        _report(saved[2], kb)
