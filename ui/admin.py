"""管理/缺口: what policy editors should look at, from the store (Store.gaps): questions answered 未涉及 (out_of_scope)
or 未作规定 (no_rule), and answers marked 👎, newest first; below, all feedback.

What people typed may name someone, so the page is closed until an operator opens it (gpskb.admin): a password
(GPSKB_ADMIN_TOKEN) typed here, or a user named by the intranet's reverse proxy (GPSKB_ADMIN_PROXY_HEADER, believed
only from GPSKB_ADMIN_PROXY_ADDRESSES). Unconfigured, it says how to open it and shows nothing from the store."""
import csv
import io
import time
from datetime import datetime

import streamlit as st

from gpskb.admin import AdminAccess
from gpskb.errors import GpskbError
from ui import common as ui

HOW_TO_OPEN = """本页列出用户提出的问题和反馈，可能含个人信息，默认不开放。管理员可用以下任一方式开启（设置后重启应用）：

- 设置环境变量 `GPSKB_ADMIN_TOKEN` 为管理密码（也可写作 `sha256:` 加密码的 SHA-256 十六进制摘要），在本页输入密码后查看；
- 经内网统一认证的反向代理访问：设置 `GPSKB_ADMIN_PROXY_HEADER`（代理写入已登录用户名的请求头，如 `X-Remote-User`）和
  `GPSKB_ADMIN_PROXY_ADDRESSES`（代理的地址，如 `127.0.0.1` 或 `10.0.0.0/24`）。

问题是否记录由 `GPSKB_LOG_QUESTIONS` 决定（默认不记录）；记录和反馈保存 `GPSKB_RETENTION_DAYS` 天（默认 180 天）后自动删除。"""

KIND = {"unanswered": "未能回答", "thumbs_down": "答复被评为没帮助"}
SOURCE = {"app": "网页", "api": "接口", "cli": "命令行"}


def when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _sign_in(access: AdminAccess) -> None:
    password = st.session_state.get("admin_password", "")
    st.session_state["admin_password"] = ""  # never kept in the session
    if access.password_ok(password):
        st.session_state["admin_user"] = "管理员"
    else:
        time.sleep(1.0)  # a wrong password costs a second: no quick guessing
        st.session_state["admin_failed"] = True


def _sign_out() -> None:
    st.session_state.pop("admin_user", None)


def signed_in() -> str | None:
    """Who may see the page (the proxy's user or 管理员 after the password), or None with the page's reason drawn."""
    try:
        access = AdminAccess.from_env()
    except GpskbError as exc:
        st.error(f"管理页设置有误，页面不开放：{exc}")
        return None
    if not access.configured:
        st.info(HOW_TO_OPEN, icon=":material/lock:")
        return None
    user = access.proxy_user(st.context.headers, st.context.ip_address)
    if user:
        return user
    if st.session_state.get("admin_user") and access.token_digest is not None:
        return str(st.session_state["admin_user"])
    if access.token_digest is None:
        st.warning("本页只对经内网统一认证登录的用户开放。", icon=":material/lock:")
        return None
    with st.form("admin_sign_in"):
        st.text_input("管理密码", type="password", key="admin_password")
        st.form_submit_button("登录", on_click=_sign_in, args=(access,))
    if st.session_state.pop("admin_failed", False):
        st.error("密码不正确。")
    return None


def main() -> None:
    ui.style()
    st.title("管理 / 缺口")
    user = signed_in()
    if not user:
        return
    with st.container(horizontal=True):
        st.caption(f"已登录：{ui.md_escape(user)}")
        if st.session_state.get("admin_user"):
            st.button("退出", key="admin_sign_out", on_click=_sign_out, icon=":material/logout:")
    st.caption("需要补充规则或文件的地方：知识库未涉及或未作规定的问题，以及被评为“没帮助”的答复（最新的在前）。")
    badges = {v: w.badge for v, w in ui.engine().wording.verdicts.items()}

    try:
        store = ui.store()
        gaps = store.gaps(limit=1000)
        feedback = store.feedback(limit=1000)
    except ui.store_errors() as exc:
        st.error(f"无法读取反馈数据库：{exc}")
        return
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
