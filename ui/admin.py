"""管理/缺口: what policy editors should look at, from the store (Store.gaps): questions answered 未涉及 (out_of_scope)
or 未作规定 (no_rule), and answers marked 👎, newest first; below, all feedback."""
import csv
import io
import sqlite3
from datetime import datetime

import streamlit as st

from ui import common as ui

KIND = {"unanswered": "未能回答", "thumbs_down": "答复被评为没帮助"}
SOURCE = {"app": "网页", "api": "接口", "cli": "命令行"}


def when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def main() -> None:
    ui.style()
    st.title("管理 / 缺口")
    st.caption("需要补充规则或文件的地方：知识库未涉及或未作规定的问题，以及被评为“没帮助”的答复（最新的在前）。")
    badges = {v: w.badge for v, w in ui.engine().wording.verdicts.items()}

    try:
        store = ui.store()
        gaps = store.gaps(limit=1000)
        feedback = store.feedback(limit=1000)
    except (sqlite3.Error, OSError) as exc:
        st.error(f"无法读取反馈数据库：{exc}")
        return
    st.caption(f"数据文件：{store.path}")
    c1, c2, c3 = st.columns(3)
    c1.metric("未能回答的问题", sum(g["kind"] == "unanswered" for g in gaps))
    c2.metric("被评为没帮助的答复", sum(g["kind"] == "thumbs_down" for g in gaps))
    c3.metric("反馈总数", len(feedback))

    st.markdown("#### 缺口清单")
    if not gaps:
        st.info("暂无记录。用户提出知识库未涉及的问题，或认为答复没帮助，都会出现在这里。")
    else:
        rows = [{"时间": when(g["created_at"]), "类型": KIND.get(g["kind"], g["kind"]),
                 "结论": badges.get(g["verdict"], g["verdict"]), "问题": g["question"], "说明": g["comment"],
                 "引用条款": "、".join(g["citations"]), "来源": SOURCE.get(g["source"], g["source"])} for g in gaps]
        st.dataframe(rows, hide_index=True, width="stretch", key="gaps_table")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        st.download_button("下载缺口清单（CSV）", data=("\ufeff" + out.getvalue()).encode("utf-8"),
                           file_name="gpskb-缺口清单.csv", mime="text/csv", on_click="ignore", icon=":material/download:")

    with st.expander(f"全部反馈（{len(feedback)}）"):
        if feedback:
            st.dataframe([{"时间": when(f["created_at"]), "评价": "有帮助" if f["rating"] > 0 else "没帮助",
                           "结论": badges.get(f["verdict"], f["verdict"]), "问题": f["question"],
                           "说明": f["comment"], "引用条款": "、".join(f["citations"]),
                           "来源": SOURCE.get(f["source"], f["source"])} for f in feedback],
                         hide_index=True, width="stretch")
        else:
            st.caption("暂无反馈。")


main()
