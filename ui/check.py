"""资格核查: the guided eligibility check. A form for the structured facts (which service, for whom, who provides it,
how it is paid and managed, whether it involves hiring, dispatch or posts) → Engine.check → the same verdict,
citations and explanation as the Ask page. The choices are built from the lexicon's concepts (policy/lexicon.yaml)."""
import streamlit as st

from gpskb.errors import GpskbError, InputError
from ui import common as ui

OWN_DUTIES = "auxiliary_service"  # the concept "services for the government's own duties" (（八）, strictly reviewed)
PROVIDER_ROLE = "provider_role"  # question 3 names who provides the service: that body acts as 承接主体
PURPOSE = {"public": "面向社会公众提供的公共服务", "own": "本单位自身履职所需的服务（如后勤、会务、咨询、运维）"}
OTHER_PROVIDER = "未明确 / 其他"
MODE_OPEN = "未明确 / 不确定"
FORM_KINDS = ("service", "auxiliary", "provider", "mode", "employment")  # the kinds with their own question above
# ("frame" concepts — the aspect asked, possible readings — are set by reading a question, never chosen in the form)
#: how the remaining kinds of the lexicon are asked ("other circumstances"); a new kind appears under its id
KIND_QUESTION = {"object": "购买内容的性质", "purchaser": "本单位在项目中的角色", "contract": "目录、预算和合同"}


def _mode_label(kb, concept) -> str:
    """The wording of the follow-up option that sets exactly this concept (clearer for users), else its label."""
    for fu in kb.follow_ups.values():
        for label, facts in fu.options:
            if tuple(facts) == (concept.id,):
                return label
    return concept.label


def main() -> None:
    ui.style()
    st.title("资格核查")
    st.caption("逐项填写要购买的服务的情况，系统按规则判断能否通过政府购买服务方式购买，并给出依据条款。"
               "与「问答」不同，这里的判断只依据您选择的情况，不受措辞影响。")
    engine = ui.engine()
    kb = engine.kb
    concepts = list(kb.concepts.values())
    services = [c for c in concepts if c.kind == "service"] + [c for c in concepts if c.kind == "auxiliary"]
    providers = [c for c in concepts if c.kind == "provider"]
    modes = [c for c in concepts if c.kind == "mode"]
    employment = [c for c in concepts if c.kind == "employment"]

    with st.form("check_form", border=True):
        service = st.selectbox("1. 购买什么服务？", [c.id for c in services], index=None, key="chk_service",
                               format_func=lambda cid: kb.concepts[cid].label,
                               placeholder="请选择最接近的服务事项（列表中没有的，可留空并在最后一项描述）")
        purpose = st.radio("2. 服务对象", list(PURPOSE), format_func=PURPOSE.get, key="chk_purpose",
                           horizontal=False) if OWN_DUTIES in kb.concepts else None
        provider = st.radio("3. 由谁提供（承接主体）", [""] + [c.id for c in providers], key="chk_provider",
                            format_func=lambda cid: kb.concepts[cid].label if cid else OTHER_PROVIDER)
        mode = st.radio("4. 承接方如何提供服务、如何付费", [""] + [c.id for c in modes], key="chk_mode",
                        format_func=lambda cid: _mode_label(kb, kb.concepts[cid]) if cid else MODE_OPEN)
        st.html('<p style="font-size:.875rem;margin:0">5. 是否涉及以下用工安排（可多选）</p>')
        employed = [c.id for c in employment if st.checkbox(c.label, key=f"chk_emp_{c.id}")]
        others = [k for k in dict.fromkeys(c.kind for c in concepts) if k not in FORM_KINDS + ("frame",)]
        extra = []
        if others:
            st.html('<p style="font-size:.875rem;margin:0">6. 其他情况（如有，可多选）</p>')
            for kind in others:
                extra += st.multiselect(KIND_QUESTION.get(kind, kind), [c.id for c in concepts if c.kind == kind],
                                        key=f"chk_kind_{kind}", format_func=lambda cid: kb.concepts[cid].label,
                                        placeholder="不涉及可不选")
        description = st.text_area(f"{7 if others else 6}. 服务内容描述（可选，用于查找更多相关条款）", key="chk_desc",
                                   max_chars=engine.max_chars, placeholder="例如：县政府办拟将办公楼日常保洁委托保洁公司")
        submitted = st.form_submit_button("核查", type="primary", icon=":material/search:")

    if submitted:
        facts = []
        if service:
            facts.append(service)
        if purpose == "own":
            facts.append(OWN_DUTIES)
        if provider:
            facts.append(provider)
            if PROVIDER_ROLE in kb.concepts:
                facts.append(PROVIDER_ROLE)
        if mode:
            facts.append(mode)
        facts += employed + extra
        if not facts and not (description or "").strip():
            # nothing chosen and nothing described: there is nothing to check (no 未作规定, no gap logged)
            st.session_state.pop("check_request", None)
            st.warning("请至少选择一项情况或填写服务内容描述，再点「核查」。", icon=":material/edit_note:")
            return
        st.session_state["check_request"] = (tuple(dict.fromkeys(facts)), description or "")

    request = st.session_state.get("check_request")
    if not request:
        return
    facts, description = request
    try:
        answer = engine.check(list(facts), description)
    except InputError as exc:
        st.warning(str(exc))
        return
    except GpskbError as exc:
        st.error(f"无法核查：{exc}")
        return
    labels = "、".join(kb.concepts[c].label for c in facts) or "（未选择任何情况）"
    question = f"［资格核查］{labels}" + (f"；{description.strip()}" if description.strip() else "")
    st.divider()
    st.markdown("#### 核查结果")
    st.html(f'<p class="gp-muted">据以判断的情况：{ui.esc(labels)}</p>')
    ui.log_question(question, answer)
    key = ui.answer_key(question, answer)

    def open_points():
        for fu in answer.follow_ups:
            st.info(f"还需确认：{fu.question}　请在上面第 4 项中选择后重新核查。", icon=":material/help:")

    ui.render_answer(answer, kb, question, key=key, between=open_points if answer.follow_ups else None)


main()
