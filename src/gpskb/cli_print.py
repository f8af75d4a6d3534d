"""What the `gpskb` commands print for a person to read: the clauses, an answer with its citations, rules and
follow-ups, the figures of an evaluation, of a retrieval evaluation and of the readers' cross-validation, a bank
report, and the errors and progress lines on standard error. (The JSON they print is the library's own.)"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .jsontypes import JSON

if TYPE_CHECKING:
    from .answer_types import Answer
    from .bank import BankReport
    from .knowledge import Clause, KnowledgeBase


def print_error(msg: str) -> None:
    """A one-line error message on standard error, as every command reports a named error."""
    print(f"gpskb: error: {msg}", file=sys.stderr)


def print_log(msg: str) -> None:
    """A line of progress on standard error (an index rebuilt, a stale index found)."""
    print(f"gpskb: {msg}", file=sys.stderr)


def figure(value: float | None) -> str:
    """A ratio as the evaluation prints it (three decimals; n/a when there was nothing to count)."""
    return "n/a" if value is None else f"{value:.3f}"


def print_clauses(kb: KnowledgeBase, document: str | None) -> None:
    """Every document (or only `document`) with its clauses' ids and labels."""
    for doc in kb.documents.values():
        if document and doc.id != document:
            continue
        mark = "（节选）" if doc.excerpt else ""
        print(f"# {doc.number}{mark} {doc.title}")
        if doc.excerpt:
            print(f"# {doc.excerpt_note}")
        for c in kb.clauses.values():
            if c.document == doc.id:
                print(f"{c.id}\t{c.label}")


def print_clause(kb: KnowledgeBase, clause: Clause) -> None:
    """One clause's text with its document, label, sources and the excerpt note."""
    doc = kb.document_of(clause)
    print(f"{doc.number}《{doc.title}》" + ("（节选）" if doc.excerpt else ""))
    print(f"{clause.id}  {clause.label}")
    print()
    print(clause.text)
    if clause.sources:
        print(f"\n来源：{clause.sources}")
    if doc.excerpt:
        print(f"\n注：{doc.excerpt_note}")


def print_answer(question: str, a: Answer) -> None:
    """An answer: the badge and the question, the memo text, the cited clauses, the rules and the follow-ups (each
    with the command that answers it)."""
    print(f"【{a.badge}】{question}")
    print(a.answer)
    if a.citations:
        print("\n引用条款：")
        for i, c in enumerate(a.citations, 1):
            mark = "（节选）" if c.excerpt else ""
            print(f"  {i}. {c.document}{mark} {c.label}  [{c.clause_id}]  相关度 {c.score:.2f}")
            print(f"     “{c.sentence}”")
    if a.rules:
        print("\n规则：")
        for r in a.rules:
            print(f"  - {r['rule_id']} → {r['outcome']} ({r['status']}); 匹配：{'、'.join(r['matched'])}")
    for f in a.follow_ups:
        print(f"\n待确认：{f.question}")
        for o in f.options:
            print(f"  - {o['label']}: gpskb ask {' '.join('--fact ' + x for x in o['facts'])} \"{question}\"")


def print_retrieval_eval(res: JSON, files: list[str]) -> None:
    """hit@1, hit@3 and MRR per ranker, and the out-of-scope detection's precision and recall."""
    print(f"retrieval evaluation: {res['n']} questions ({res['cited_questions']} with expected clauses) "
          f"from {', '.join(files)}")
    print(f"{'ranker':<10}{'hit@1':>8}{'hit@3':>8}{'MRR':>8}")
    for r, s in res["rankers"].items():
        print(f"{r:<10}{s['hit1']:>8.3f}{s['hit3']:>8.3f}{s['mrr']:>8.3f}")
    print("out-of-scope detection:")
    for name, s in res["out_of_scope"].items():
        print(f"  {name:<20} precision {figure(s['precision'])}  recall {figure(s['recall'])}  "
              f"in-scope flagged {s['in_scope_flagged']}")


def print_readers_cv(cv: dict[str, JSON]) -> None:
    """Each reader's cross-validated accuracy (mean and worst fold) and recall per value."""
    for slot, r in cv.items():
        print(f"reader {slot}: {r['folds']}-fold accuracy mean {figure(r['mean'])}, "
              f"worst fold {figure(r['worst'])}; "
              "recall " + ", ".join(f"{v} {x:.2f}" for v, x in r["recall"].items()))


def print_eval(res: JSON, files: list[str], summary: bool) -> None:
    """The failing questions (not with `summary`: a blind set is measured without being read) and the figures."""
    if not summary:
        for f in res["failures"]:
            print(f"FAIL {f['id']} ({f['file']}): {f['q']}")
            for p in f["problems"]:
                print(f"     {p}")
    print(f"questions: {res['n']} from {', '.join(files)}")
    print(f"verdict accuracy:    {figure(res['verdict_accuracy'])} ({res['eligibility']} eligibility questions)")
    print(f"citation hit@1:      {figure(res['hit1'])}")
    print(f"citation hit@3:      {figure(res['hit3'])} ({res['cited_questions']} questions with expected clauses)")
    print(f"out-of-scope:        precision {figure(res['oos_precision'])}, recall {figure(res['oos_recall'])} "
          f"({res['out_of_scope']} out-of-scope questions, {res['in_scope_flagged']} in-scope flagged)")
    print(f"unsafe:              {res['unsafe']} (the text prohibits; answered allowed, no_rule or out of scope)")
    if res["english"]:
        print(f"English verdicts:    {figure(res['english_verdict_accuracy'])} ({res['english']} questions)")
    if res["aspects"]:
        print(f"aspect understood:   {figure(res['aspect_accuracy'])} ({res['aspects']} questions)")
    print(f"failures:            {len(res['failures'])}")


def print_bank_report(path: str, report: BankReport, summary_only: bool) -> None:
    """A bank's figures, overall and by type, then (not with `summary_only`) every item where gpskb and the key
    disagree or gpskb does not decide, with what gpskb made of each statement."""
    from .bank import TRUTH_LABEL

    summary = report.summary()
    print(f"{path}: {summary['items']} 题 · 与答案一致 {summary['agree']} · 不一致 {summary['disagree']} · "
          f"gpskb 未判断 {summary['undecided']} · 一致率 {summary['agreement']:.3f}")
    for t, s in summary["by_type"].items():
        print(f"  {t}: {s['agree']}/{s['items']}")
    if summary_only:
        return
    for c in report.disagreements + report.undecided:
        it = c.item
        mark = "不一致" if c.agrees is False else "未判断"
        print(f"\n[{mark}] 第 {it.row} 行 {it.type}：{it.stem}")
        for letter, option in it.options.items():
            print(f"    {letter}. {option}")
        print(f"  答案 {it.key} · gpskb {c.gpskb_key or '—'}")
        for st in c.statements:
            head = f"{st.letter}: " if st.letter else ""
            said = TRUTH_LABEL[st.true]
            cites = "、".join(st.citations[:2])
            print(f"    {head}{st.verdict} → {said}  {cites}")
