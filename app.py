"""gpskb web front end: `make run` (or `streamlit run app.py`), then open http://127.0.0.1:8501.

This file only routes. The pages live in ui/; every verdict, citation and explanation they show comes from gpskb
(Engine.answer / Engine.check and the rules in policy/). The engine is loaded once per process (st.cache_resource
around gpskb.answer.default_engine) by the first page that needs it, never at import time.

URLs: /  问答 (?q=… asks at once) · /check 资格核查 · /browse 政策原文 (?clause=<id> opens one clause; ?clause= on any
page goes there) · /training 培训练习 · /admin 管理/缺口. ?embed=true: compact, without navigation.
"""
import streamlit as st

st.set_page_config(page_title="政府购买服务查询", page_icon=":material/gavel:", layout="centered",
                   menu_items={"About": "gpskb：政府购买服务能否购买的查询工具，结论依据明确的规则并附条款原文。"})

ask = st.Page("ui/ask.py", title="问答", icon=":material/forum:", default=True)
check = st.Page("ui/check.py", title="资格核查", icon=":material/fact_check:", url_path="check")
browse = st.Page("ui/browse.py", title="政策原文", icon=":material/menu_book:", url_path="browse")
training = st.Page("ui/training.py", title="培训练习", icon=":material/school:", url_path="training")
admin = st.Page("ui/admin.py", title="管理/缺口", icon=":material/table_chart:", url_path="admin")

embedded = bool(st.context.is_embedded)
page = st.navigation({"查询": [ask, check, browse], "培训": [training], "管理": [admin]},
                     position="hidden" if embedded else "sidebar")
if "clause" in st.query_params and page.url_path != browse.url_path:
    st.switch_page(browse, query_params={"clause": st.query_params["clause"]})
page.run()
