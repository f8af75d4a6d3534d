"""The answer's text, the memo: 您问的是, 结论 (the verdict's wording, or the deciding rule's own), 依据 (文号, item,
quoted sentence), 说明, 审核要点, what the notice allows instead, and how a clause is named in a citation."""
from __future__ import annotations

from .answer_types import Citation, FollowUpQuestion
from .knowledge import Clause, KnowledgeBase
from .rules import Outcome
from .schema.wording import Wording


def conclusion_of(wording: Wording, verdict: str, outcome: Outcome) -> str:
    """The 结论: the verdict's wording, with the deciding rule's own words where they are more precise; a rule
    whose prohibition is a condition (a contract term, who may buy) states its conclusion alone."""
    w = wording.verdicts[verdict]
    decisive = outcome.decisive if verdict != "out_of_scope" else None
    rule = decisive.rule if decisive else None
    if rule and rule.conclusion and rule.outcome == verdict and rule.aspect in wording.rule_conclusion_replaces:
        return rule.conclusion
    detail = rule.conclusion if rule and rule.conclusion and rule.outcome == verdict else w.detail
    return w.conclusion + (f"（{detail}）" if detail else "")


def memo_text(kb: KnowledgeBase, verdict: str, conclusion: str, outcome: Outcome, citations: list[Citation],
              follow_ups: list[FollowUpQuestion], understood: dict[str, str]) -> str:
    """The answer text: 您问的是, 结论, 依据 (文号, item, quoted sentence), 说明, 审核要点, and what the notice
    allows instead."""
    lines = []
    if understood.get("label") and verdict != "out_of_scope":
        lines.append(kb.wording.understood.format(aspect=understood["label"]) + "。")
    lines.append(f"结论：{conclusion}。")
    if verdict == "out_of_scope":
        docs = "、".join(f"{d.number}《{d.title}》" + ("（节选）" if d.excerpt else "") for d in kb.documents.values())
        lines.append(f"说明：本知识库收录{docs}，未找到与所问事项相关的规定。请改用具体的服务事项提问，"
                     "或咨询本级财政部门。")
        return "\n".join(lines)
    decisive = outcome.decisive if verdict != "no_rule" else None
    if decisive:
        rule = decisive.rule
        clause = kb.clauses[rule.clauses[0]]
        lines.append(f"依据：{cite_name(kb, clause)}：“{rule.quote}”")
        also = [f for f in outcome.firings if f.status == "supporting"
                and kb.clauses[f.rule.clauses[0]].document != clause.document and f.rule.outcome == rule.outcome]
        for f in also:  # the same conclusion in the other document: cite it too
            lines.append(f"另见：{cite_name(kb, kb.clauses[f.rule.clauses[0]])}：“{f.rule.quote}”")
        lines.append(f"说明：{decisive.explanation}")
        stricter = [f for f in outcome.firings if f.status == "supporting" and f.rule.outcome != rule.outcome]
        for f in stricter:  # e.g. a one-year contract for a service that needs strict review
            lines.append(f"另须注意：{cite_name(kb, kb.clauses[f.rule.clauses[0]])}：“{f.rule.quote}”"
                         f"{f.explanation}")
        checks = list(dict.fromkeys(list(rule.checks) + [c for f in stricter for c in f.rule.checks]))
        if checks:
            lines.append("审核要点：" + "；".join(f"（{i}）{c}" for i, c in enumerate(checks, 1)) + "。")
        alternatives = [f for f in outcome.firings if f.status == "overridden" and f.rule.outcome == "allowed"]
        if verdict == "prohibited" and alternatives and rule.aspect == "can_buy":
            alt = "；".join(f"{cite_name(kb, kb.clauses[f.rule.clauses[0]])}：“{f.rule.quote}”"
                           for f in alternatives)
            lines.append(f"可以购买的做法：通知支持购买的是服务本身，由承接主体按合同提供服务并按服务数量和质量付费，"
                         f"而不是借购买服务用人。{alt}")
        for fu in follow_ups:
            lines.append(f"待确认：{fu.question}")
    else:
        top = citations[0] if citations else None
        if top:
            clause = kb.clauses[top.clause_id]
            lines.append(f"相关条款：{cite_name(kb, clause)}：“{top.sentence}”")
        lines.append("说明：所问事项在知识库中有相关条款，但没有规则据以判断能否购买；请结合上述条款和本地指导性目录判断，"
                     "必要时咨询本级财政部门。")
    for doc in {kb.document_of(kb.clauses[c.clause_id]).id: None for c in citations}:
        d = kb.documents[doc]
        if d.excerpt:
            lines.append(f"注：{d.number}为节选：{d.excerpt_note}")
    return "\n".join(lines)


def cite_name(kb: KnowledgeBase, clause: Clause) -> str:
    doc = kb.document_of(clause)
    title = f"「{clause.title}」" if clause.title else ""
    excerpt = "（节选）" if doc.excerpt else ""
    return f"{doc.number}{excerpt} {clause.ref}{title}"
