"""What the pages share: the engine and the store (each loaded once per process), the verdict badge, and an Answer
laid out with its citations, rule trace, copy text and feedback form.

Nothing here decides anything: verdicts, memo texts, citations and explanations come from gpskb (Engine.answer,
Engine.check and the rules in policy/). Safety: every piece of user or policy text that goes into HTML passes
through `esc` (html.escape) first, and st.html sanitises what it is given (DOMPurify, scripts dropped) on top.

The heavy library (spaCy, FAISS, the embedder) is imported inside the cached loader, never at import time, so a page
draws its frame before the knowledge base is ready.
"""
from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from urllib.parse import quote

import streamlit as st

from gpskb.errors import GpskbError

VERDICT_ICON = {"prohibited": "×", "conditional": "！", "allowed": "√", "no_rule": "？", "out_of_scope": "○"}
STATUS_LABEL = {"decisive": "决定结论", "supporting": "同向支持", "overridden": "被优先规则覆盖",
                "not_asked": "与所问方面无关，不决定结论"}
REASON_LABEL = {"rule": "判定依据", "retrieval": "相关条款"}
BROWSE_URL = "browse"  # url_path of the Browse page (app.py)

#: the app's styles, kept in ui/style.css and injected once per page
CSS = "<style>" + (Path(__file__).with_name("style.css")).read_text(encoding="utf-8") + "</style>"


# ---------------------------------------------------------------------------------------------------------------
# Loading


def esc(text) -> str:
    """HTML-escape any text (user or policy) before it goes into markup."""
    return html.escape(str(text), quote=True)


def md_escape(text) -> str:
    """Text for st.markdown/st.warning (Markdown, never HTML): ASCII punctuation backslash-escaped, so user text can
    make no link, image, directive (:red[…]) or formula."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'])", r"\\\1", str(text))


def style() -> None:
    st.html(CSS)


def embedded() -> bool:
    """?embed=true (Streamlit's own embedding switch; it is not visible in st.query_params)."""
    return bool(st.context.is_embedded)


@st.cache_resource(show_spinner="正在加载政策知识库和检索索引（首次启动需数秒）……")
def _engine():
    from gpskb.answer import default_engine

    engine = default_engine()
    engine.answer("机关食堂能否外包")  # warm the reader, the rules and the embedder: the first real question is fast
    return engine


def engine():
    """The process-wide gpskb Engine; on a load failure, st.error with the library's message and stop the page."""
    try:
        return _engine()
    except GpskbError as exc:
        st.error(f"知识库无法加载：{exc}")
        st.stop()


@st.cache_resource(show_spinner=False)
def _store(path: str):
    from gpskb.store import Store

    return Store(path)


def store_errors() -> tuple[type[BaseException], ...]:
    """What a failing store raises (imported when one is raised: SQLAlchemy is not loaded with the page)."""
    from gpskb.store import STORE_ERRORS

    return STORE_ERRORS


def store():
    """The feedback/question store at $GPSKB_STORE (a SQLite file, default data/gpskb.sqlite3, or a PostgreSQL URL)."""
    from gpskb.config import store_location

    return _store(store_location())


def log_question(question: str, answer, asked: bool = True) -> None:
    """Log an answered question once per session (source "app") when GPSKB_LOG_QUESTIONS is on and the question was
    asked here (`asked`: typed, an example, a follow-up or a form; not a page opened from a `?q=` link). A store or
    settings problem never stops the answer."""
    from gpskb.config import settings

    try:
        if not asked or not settings().log_questions:
            return
    except GpskbError:
        return
    logged = st.session_state.setdefault("gp_logged", set())
    key = answer_key(question, answer)
    if key in logged:
        return
    try:
        store().log_question(question, answer.verdict, [c.clause_id for c in answer.citations], source="app")
        logged.add(key)
    except store_errors() as exc:
        st.caption(f"（问题记录未能保存：{exc}）")


def answer_key(question: str, answer) -> str:
    facts = ",".join(sorted((answer.facts or {}).get("given", [])))
    return hashlib.sha1(f"{question}\x00{facts}\x00{answer.verdict}".encode()).hexdigest()[:12]


def clause_url(clause_id: str) -> str:
    """Permalink of a clause on the Browse page (relative, so it works under any base path)."""
    return f"{BROWSE_URL}?clause={quote(clause_id, safe='/')}"


def dom_key(clause_id: str) -> str:
    """A container key (and CSS class st-key-…) for a clause id."""
    return "clause-" + re.sub(r"[^A-Za-z0-9_-]", "-", clause_id)


# ---------------------------------------------------------------------------------------------------------------
# Pieces of HTML (pure functions: tested without Streamlit)


def conclusion_of(answer) -> str:
    """The 结论 of an answer (a rule may word it more precisely than the default): the library's field."""
    return answer.conclusion


def verdict_html(verdict: str, question: str | None = None, conclusion: str | None = None) -> str:
    """The coloured verdict badge (words, not colour alone) with the 结论 beside it."""
    words = engine().wording.verdicts[verdict]
    if not conclusion:
        conclusion = words.conclusion + (f"（{words.detail}）" if words.detail else "")
    q = f'<p class="gp-question">问：{esc(question)}</p>' if question else ""
    return (f'<div class="gp-verdict gp-v-{esc(verdict)}" data-verdict="{esc(verdict)}" role="status">'
            f'<span class="gp-badge">{VERDICT_ICON.get(verdict, "")} {esc(words.badge)}</span>'
            f'<span class="gp-conclusion">{esc(conclusion)}</span></div>{q}')


def highlight(text: str, span=None, terms=()) -> str:
    """`text` as HTML with the sentence at `span` underlaid and every occurrence of `terms` marked; all escaped."""
    n = len(text)
    sent = [False] * n
    mark = [False] * n
    if span and len(span) == 2:
        s, e = int(span[0]), int(span[1])
        if 0 <= s < e <= n:
            for i in range(s, e):
                sent[i] = True
    for term in {t for t in terms if t and t.strip()}:
        start = text.find(term)
        while start != -1:
            for i in range(start, start + len(term)):
                mark[i] = True
            start = text.find(term, start + 1)
    out, i = [], 0
    while i < n:
        j = i
        while j < n and sent[j] == sent[i] and mark[j] == mark[i]:
            j += 1
        chunk = esc(text[i:j])
        classes = " ".join(c for c, on in (("gp-sent", sent[i]), ("gp-term", mark[i])) if on)
        out.append(f'<span class="{classes}">{chunk}</span>' if classes else chunk)
        i = j
    return "".join(out)


def memo_html(text: str) -> str:
    """The answer text (结论/依据/说明/… one per line) with each line's heading in bold."""
    lines = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = re.match(r"^([^：]{1,8})：(.*)$", line)
        if m:
            lines.append(f'<p><span class="gp-k">{esc(m.group(1))}：</span>{esc(m.group(2))}</p>')
        else:
            lines.append(f"<p>{esc(line)}</p>")
    return f'<div class="gp-memo">{"".join(lines)}</div>'


def decisive_words(answer) -> list[str]:
    return [w for r in answer.rules if r.get("status") == "decisive" for w in r.get("matched", [])]


def card_html(*, clause_id: str, document: str, label: str, text: str, span=None, terms=(), tag: str = "",
              strong_tag: bool = False, excerpt: bool = False, excerpt_note: str | None = None, n: int | None = None,
              extra: str = "") -> str:
    """A clause as a card: 文号, label, a tag saying why it is shown, 节选 when its document is an excerpt, the text with
    the matched sentence and words highlighted, and a link to it in the full text."""
    tags = [f'<span class="gp-tag{" gp-tag-rule" if strong_tag else ""}">{esc(tag)}</span>'] if tag else []
    if excerpt:
        tags.append('<span class="gp-tag gp-tag-excerpt">节选</span>')
    num = f"{n}. " if n else ""
    note = f'<p class="gp-cite-note">节选说明：{esc(excerpt_note)}</p>' if excerpt and excerpt_note else ""
    return (f'<div class="gp-cite" data-clause="{esc(clause_id)}"><div class="gp-cite-head">'
            f'<span class="gp-cite-doc">{num}{esc(document)}</span>'
            f'<span class="gp-cite-label">{esc(label)}</span>{"".join(tags)}'
            f'<a class="gp-cite-link" href="{esc(clause_url(clause_id))}" target="_blank" rel="noopener">在原文中查看 ↗</a>'
            "</div>"
            f'<p class="gp-cite-text">{highlight(text, span, terms)}</p>{note}{extra}</div>')


def citation_html(c, n: int | None = None, extra_terms=(), note: bool = True) -> str:
    """One Citation of an Answer (deciding clause first): why it is cited, what matched in it. `note`: whether an
    excerpted clause's card carries the excerpt's note (once per answer; every such card keeps its 节选 tag)."""
    return card_html(clause_id=c.clause_id, document=c.document, label=c.label, text=c.text, span=c.span,
                     terms=list(c.terms) + list(extra_terms), tag=REASON_LABEL.get(c.reason, c.reason),
                     strong_tag=c.reason == "rule", excerpt=c.excerpt, excerpt_note=c.excerpt_note if note else None,
                     n=n)


def clause_html(clause, kb, span=None, terms=(), tag: str = "", n: int | None = None, extra: str = "") -> str:
    """A clause of the knowledge base as a card (search results, training answers)."""
    doc = kb.document_of(clause)
    return card_html(clause_id=clause.id, document=doc.number, label=clause.label, text=clause.text, span=span,
                     terms=terms, tag=tag, excerpt=doc.excerpt, excerpt_note=doc.excerpt_note, n=n, extra=extra)


def document_head_html(doc) -> str:
    """A document's heading on the Browse page; an excerpt says so at the top, with its note."""
    meta = doc.meta or {}
    dates = "；".join(f"{k}：{esc(meta[f])}" for k, f in (("印发", "printed_on"), ("发布", "published_on"),
                                                        ("施行", "effective_on")) if meta.get(f))
    excerpt = (f'<div class="gp-excerpt"><b>节选</b>：{esc(doc.excerpt_note or "本文件仅收录部分条文。")}</div>'
               if doc.excerpt else "")
    return (f'<div class="gp-doc-head" data-document="{esc(doc.id)}"><p class="gp-doc-title">{esc(doc.title)}</p>'
            f'<p class="gp-muted">{esc(doc.number)}　{esc(doc.issuer)}{"　" + dates if dates else ""}</p>'
            f"{excerpt}</div>")


def rule_html(r: dict, kb) -> str:
    """One entry of Answer.rules: outcome, status, matched words, explanation, the quoted clause, checks."""
    outcome, status = r.get("outcome", ""), r.get("status", "")
    badge = kb.wording.verdicts[outcome].badge if outcome in kb.wording.verdicts else outcome
    refs = []
    for cid in r.get("clause_ids", []):
        if cid in kb.clauses:
            clause = kb.clauses[cid]
            refs.append(f'<a href="{esc(clause_url(cid))}" target="_blank" rel="noopener">'
                        f'{esc(kb.document_of(clause).number)} {esc(clause.ref)}</a>')
    parts = [f'<div class="gp-rule gp-rule-{esc(status)}" data-rule="{esc(r.get("rule_id", ""))}"><p>'
             f'<span class="gp-chip gp-c-{esc(outcome)}">{esc(badge)}</span>'
             f'<span class="gp-chip gp-c-status">{esc(STATUS_LABEL.get(status, status))}</span>'
             f'<b>{esc(r.get("title", ""))}</b></p>']  # the rule's id stays in data-rule, not in the text
    if r.get("matched"):
        parts.append("<p>问题中匹配的词：" + "".join(f'<span class="gp-term">「{esc(w)}」</span>'
                                               for w in r["matched"]) + "</p>")
    if r.get("explanation"):
        parts.append(f"<p>{esc(r['explanation'])}</p>")
    if r.get("quote"):
        parts.append(f"<blockquote>条文：“{esc(r['quote'])}”{'（' + '、'.join(refs) + '）' if refs else ''}"
                     "</blockquote>")
    if r.get("checks"):
        parts.append("<p>审核要点：</p><ol>" + "".join(f"<li>{esc(x)}</li>" for x in r["checks"]) + "</ol>")
    if status == "overridden" and r.get("overridden_by"):
        by = next((x.title for x in kb.rules if x.id == r["overridden_by"]), "")
        parts.append(f'<p class="gp-muted">本规则被优先适用的规则{"「" + esc(by) + "」" if by else ""}覆盖，'
                     "不决定结论。</p>")
    parts.append("</div>")
    return "".join(parts)


def copy_text(answer, question: str | None = None) -> str:
    """The answer as a purchasing officer pastes it into a memo: question, answer text, the cited clauses in full."""
    lines = []
    if question:
        lines.append(f"问题：{question}")
    lines.append(answer.answer)
    if answer.citations:
        lines.append("")
        lines.append("引用条款：")
        for i, c in enumerate(answer.citations, 1):
            excerpt = "（节选）" if c.excerpt else ""
            lines.append(f"{i}. {c.document}{excerpt} {c.label}：{c.text}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Streamlit pieces


def render_verdict(answer, question: str | None = None) -> None:
    st.html(verdict_html(answer.verdict, question, conclusion_of(answer)))
    for note in answer.notes:
        st.info(note)


def render_memo(answer) -> None:
    st.html(memo_html(answer.answer))


def render_citations(answer) -> None:
    if not answer.citations:
        return
    st.markdown("##### 引用条款")
    extra = decisive_words(answer)
    noted: set = set()  # the excerpt's note once per document, not on every card of it
    for i, c in enumerate(answer.citations, 1):
        st.html(citation_html(c, i, extra, note=c.document not in noted))
        if c.excerpt:
            noted.add(c.document)


def render_why(answer, kb) -> None:
    with st.expander("为什么？查看规则推理过程", icon=":material/manage_search:"):
        facts = answer.facts or {}

        def label(cid):
            return kb.concepts[cid].label if cid in kb.concepts else cid

        rows = []
        mentions = facts.get("mentions") or []
        if mentions:
            rows.append("问题中识别到：" + "；".join(
                f"「{esc(m['term'])}」→ {esc(label(m['concept']))}" + ("（否定，不计入）" if m.get("negated") else "")
                for m in mentions))
        if facts.get("given"):
            rows.append("您补充或选择的情况：" + "、".join(esc(label(c)) for c in facts["given"]))
        if not mentions and not facts.get("given") and facts.get("concepts"):
            rows.append("据以判断的事实：" + "、".join(esc(label(c)) for c in facts["concepts"]))
        if not rows:
            rows.append("问题中没有识别到规则所依据的事项（服务领域、用工方式、付费方式等）。")
        st.html("".join(f"<p>{r}</p>" for r in rows))
        if answer.rules:
            for r in answer.rules:
                st.html(rule_html(r, kb))
        else:
            why = {"no_rule": "知识库中有与所问事项相关的条款（见上），但没有规则据以判断能否购买。",
                   "out_of_scope": "知识库中没有找到与所问事项相关的规定，因此没有规则适用。"}
            st.html(f"<p>{esc(why.get(answer.verdict, '没有规则适用。'))}</p>")


def render_copy(answer, question: str | None, key: str) -> None:
    text = copy_text(answer, question)
    with st.expander("复制答复（含引用条款全文）", icon=":material/content_copy:"):
        st.caption("点代码框右上角的复制按钮，即可粘贴到请示、审核意见中。")
        st.code(text, language=None, wrap_lines=True)
        st.download_button("下载为文本文件", data=text.encode("utf-8"), file_name="政府购买服务-答复.txt",
                           mime="text/plain; charset=utf-8", key=f"dl_{key}", on_click="ignore",
                           icon=":material/download:")


def render_feedback(answer, question: str, key: str) -> None:
    """Thumbs up/down with an optional comment, stored with Store.add_feedback."""
    done = st.session_state.setdefault("gp_feedback_done", set())
    if key in done:
        st.success("已记录您的反馈，谢谢！")
        return
    with st.form(f"fb_{key}", border=True, clear_on_submit=False):
        st.markdown("**这个答复有帮助吗？**")
        rating = st.feedback("thumbs", key=f"fb_rating_{key}")
        comment = st.text_input("补充说明（可选）", key=f"fb_comment_{key}",
                                placeholder="例如：哪里不对、还缺哪份文件或哪种情形")
        sent = st.form_submit_button("提交反馈")
    if sent:
        if rating is None:
            st.warning("请先点选拇指图标（有帮助 / 没帮助），再提交。")
            return
        try:
            store().add_feedback(question, answer.verdict, [c.clause_id for c in answer.citations],
                                 1 if rating == 1 else -1, comment or "", source="app")
        except store_errors() as exc:
            st.error(f"反馈未能保存：{exc}")
            return
        done.add(key)
        st.success("已记录您的反馈，谢谢！")


def render_answer(answer, kb, question: str, *, key: str, between=None, feedback: bool = True) -> None:
    """A whole answer: verdict badge, answer text, `between` (e.g. a follow-up question), the cited clauses, the
    rule trace, the copy box and the feedback form."""
    render_verdict(answer, question)
    render_memo(answer)
    if between:
        between()
    render_citations(answer)
    render_why(answer, kb)
    render_copy(answer, question, key)
    if feedback:
        render_feedback(answer, question, key)
