"""政策原文: every document of the knowledge base by parts and items, in order, each item with a permalink
(?clause=<id> opens it, highlights it and scrolls to it), and a search box: plain substring filtering always, and
ranked retrieval (engine.index.search) when the query reads like a sentence or no clause contains it."""
import re
from collections import defaultdict
from urllib.parse import quote

import streamlit as st

from gpskb.errors import GpskbError, UnknownClause
from ui import common as ui

SENTENCE = re.compile(r"[？?，,。！!；;]|吗|能否|可否|是否|怎么|如何|可以")
HEADING_KINDS = ("part", "chapter")
PLAIN_KINDS = ("preamble", "note")


def looks_like_sentence(query: str) -> bool:
    return len(query.strip()) >= 8 or bool(SENTENCE.search(query))


def substring_hits(kb, query: str) -> list:
    words = [w.casefold() for w in query.split() if w.strip()]
    return [c for c in kb.clauses.values()
            if words and all(w in f"{c.label}\n{c.text}".casefold() for w in words)]


def rules_note(kb, clause_id: str) -> str:
    """Which rules implement the clause (or why none does): what the verdicts stand on."""
    rules = [r for r in kb.rules if clause_id in r.clauses]
    if rules:
        return ('<p class="gp-muted">据本条判断的规则：'
                + "；".join(f"{ui.esc(r.title)}（{ui.esc(r.id)}）" for r in rules) + "</p>")
    if clause_id in kb.not_formalised:
        return f'<p class="gp-muted">本条未形成判断规则：{ui.esc(kb.not_formalised[clause_id])}</p>'
    return ""


def search(engine, query: str) -> None:
    kb = engine.kb
    hits = substring_hits(kb, query)
    words = [w for w in query.split() if w.strip()]
    st.markdown(f"##### 包含关键词的条款（{len(hits)}）")
    if hits:
        for c in hits:
            st.html(ui.clause_html(c, kb, terms=words, tag="包含关键词"))
    else:
        st.caption("没有条款逐字包含所输入的词。")
    if looks_like_sentence(query) or not hits:
        try:
            facts = engine.reader.read(query)  # the lexicon's concepts feed the concept ranker, as in Engine.answer
            result = engine.index.search(query, k=5, concepts=facts.concepts)
        except GpskbError as exc:
            st.warning(str(exc))
            return
        st.markdown("##### 按相关度排列的条款")
        ask = f"./?q={quote(query)}"
        st.caption(f"要判断能否购买，请[在「问答」中提问]({ask})。"
                   + ("" if result.in_scope or facts.mentions else "知识库中没有与此明显相关的内容，下列条款仅供参考。"))
        for i, h in enumerate(result.hits, 1):
            clause = kb.clauses[h.clause_id]
            st.html(ui.clause_html(clause, kb, span=h.span, terms=h.terms, tag=f"相关度 {h.score:.2f}", n=i))


def clause_block(kb, clause, children, target, expand_all, nested=False) -> None:
    """One clause in the full text: a heading for parts/chapters, a paragraph for the preamble and notes, an expander
    for items and articles (open when it is the permalink target); children under their parent (inside an expander
    as plain blocks: Streamlit does not nest expanders)."""
    is_target = clause.id == target
    text_class = "gp-clause-text gp-target" if is_target else "gp-clause-text"
    text = f'<p class="{text_class}">{ui.highlight(clause.text)}</p>'
    if clause.kind in HEADING_KINDS and re.sub(r"\s", "", clause.text) == re.sub(r"\s", "", clause.label):
        text = ""  # a chapter whose text is just its heading
    body = (f'{text}<p class="gp-muted"><a href="{ui.esc(ui.clause_url(clause.id))}">本条链接</a>'
            f'　条款编号 {ui.esc(clause.id)}</p>' + rules_note(kb, clause.id))
    kids = children.get(clause.id, [])
    with st.container(key=ui.dom_key(clause.id)):
        if clause.kind in HEADING_KINDS:
            st.html(f'<h3 style="margin:1.2rem 0 .3rem">{ui.esc(clause.label)}</h3>{body}')
            for child in kids:
                clause_block(kb, child, children, target, expand_all, nested)
        elif clause.kind in PLAIN_KINDS or nested:
            st.html(f'<p class="gp-muted" style="margin-bottom:0"><b>{ui.esc(clause.label)}</b></p>{body}')
            for child in kids:
                clause_block(kb, child, children, target, expand_all, nested)
        else:
            open_ = expand_all or is_target or any(c.id == target for c in kids)
            with st.expander(clause.label, expanded=open_, icon=":material/push_pin:" if is_target else None):
                st.html(body)
                for child in kids:
                    clause_block(kb, child, children, target, expand_all, nested=True)


def main() -> None:
    ui.style()
    st.title("政策原文")
    engine = ui.engine()
    kb = engine.kb

    target = st.query_params.get("clause")
    if target:
        try:
            kb.clause(target)
        except UnknownClause as exc:
            hint = ("　您是否要找：" + "、".join(f"[{ui.md_escape(s)}]({ui.clause_url(s)})" for s in exc.suggestions)
                    if exc.suggestions else "")
            st.warning(f"没有编号为「{ui.md_escape(target)}」的条款。{hint}")
            target = None
    if target:
        clause = kb.clauses[target]
        st.success(f"已定位到 {kb.document_of(clause).number} {clause.label}（已展开并标出，见下文）。", icon=":material/push_pin:")
        st.html(f"<style>.st-key-{ui.dom_key(target)}{{scroll-margin-top:4rem}}</style>")
        if st.session_state.get("browse_scrolled") != target:
            st.session_state["browse_scrolled"] = target
            st.html("<script>(function(){var n=0;var t=setInterval(function(){var el=document.querySelector("
                    f"'.st-key-{ui.dom_key(target)}');"
                    "if(el){el.scrollIntoView({block:'start'});clearInterval(t);}if(++n>50){clearInterval(t);}"
                    "},100);})();</script>", unsafe_allow_javascript=True)

    query = st.text_input("搜索条款", key="browse_q", icon=":material/search:",
                          placeholder="输入关键词（如：劳务派遣）或一句话（如：机关食堂能不能外包）后按回车")
    if query.strip():
        search(engine, query.strip())
        st.divider()

    expand_all = st.toggle("展开全部条款", key="browse_expand")
    for doc in kb.documents.values():
        st.html(ui.document_head_html(doc))
        clauses = [c for c in kb.clauses.values() if c.document == doc.id]
        children = defaultdict(list)
        for c in clauses:
            if c.part:
                children[c.part].append(c)
        for c in clauses:
            if not c.part:
                clause_block(kb, c, children, target, expand_all)
        st.divider()


main()
