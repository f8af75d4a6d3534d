"""Whether the knowledge base answers a question: the question forms policy/frame.yaml `scope` names (asks only how or
what, asks what a term means, asks for a figure the texts do not hold) and the one scope stage, decide_scope."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..parties import Party
from ..schema.frame import FrameConfig
from ..text import compile_pattern, matches_any
from .model import Frame, reads_out_of_scope

#: a sentence that asks (up to its question mark), and the clauses of a text
ASKED = re.compile(r"[^。！!；;？?]*[？?]")
_CLAUSE = re.compile(r"[^，,。！!；;]+")


def procedural(cfg: FrameConfig, text: str) -> bool:
    """Whether a question only asks how, what or how much, never whether (frame.yaml scope `procedure_forms`,
    `eligibility_forms`): 宣传政府购买服务可以用哪些平台？ The how or what is looked for where the text asks — its
    sentences that end in a question mark, or with none its last clause: a plan told without asking (由机构决定谁家
    能拿、拿多少，我们只管拨钱。) leaves "is this allowed?" implied, whatever question words its story holds."""
    s = cfg.scope
    if matches_any(s.eligibility_forms, text):
        return False
    asked = "".join(m.group(0) for m in ASKED.finditer(text))
    if not asked:
        clauses = _CLAUSE.findall(text.strip())
        asked = clauses[-1] if clauses else text
    return matches_any(s.procedure_forms, asked)


def asks_definition(cfg: FrameConfig, text: str) -> bool:
    """Whether the question asks what a term of the texts means (scope `definition_forms`) and, outside those words,
    never asks whether (什么是辅助性服务？ — not 什么是辅助性服务，保洁能买吗？; what counts as X is no "does it count")."""
    forms = [compile_pattern(rx) for rx in cfg.scope.definition_forms]
    if not any(rx.search(text) for rx in forms):
        return False
    rest = text
    for rx in forms:
        rest = rx.sub(" ", rest)
    return not matches_any(cfg.scope.eligibility_forms, rest)


def commissions(cfg: FrameConfig, frame: Frame) -> bool:
    """Whether the question asks if the asking office may have a named provider do something (能不能请咨询公司帮我们
    做个研究？ can we pay a firm to …?): a party named in the provider's role, or one that may not buy named in no role
    as the question opens (调查公司做完抽样后能不能…) — not one the asker names as itself (我们公司, our NGO) — the
    office's own words (scope `office_words`), and a question that asks whether, not only how (`eligibility_forms`):
    a purchase said as plainly as by the texts' own words."""
    s = cfg.scope
    if frame.procedural or not matches_any(s.eligibility_forms, frame.text):
        return False
    def provider(p: Party) -> bool:
        if p.describes or matches_any(s.own_party_before, frame.text[max(0, p.start - 8):p.start]):
            return False  # 我们公司能不能…, our NGO wants to …: the asker is that party, not its buyer
        return p.role == "provider" or (p.role is None and not p.may_buy and p.start <= s.opening_party_within)

    return any(provider(p) for p in frame.parties) and matches_any(s.office_words, frame.text)


@dataclass(frozen=True)
class Scope:
    """Whether the knowledge base answers the question, and why (the step of frame.yaml's `scope` that decided)."""

    answered: bool
    step: str
    note: str | None = None


def _asks_about_ban(cfg: FrameConfig, frame: Frame) -> bool:
    """Whether the question asks if a ban's own words apply (算不算变相用工？ the ban on labour dispatch): a mention
    of a concept that decides what is bought, asked about or quoted rather than asserted."""
    bans = {c for spec in cfg.slots["bought"].values.values() for c in spec.lexicon}
    return bool(frame.facts.questioned & bans)


def asks_figure_not_held(cfg: FrameConfig, frame: Frame) -> bool:
    """Whether the question only asks how much, how many points or which province (frame.yaml scope `figure_forms`),
    of a figure the two texts do not hold (`figures_held`: the contract term, the national spending)."""
    s = cfg.scope
    if not (frame.procedural and matches_any(s.figure_forms, frame.text)):
        return False
    years = {int(m.group("y")) for rx in s.year_forms for m in compile_pattern(rx).finditer(frame.text)}
    if years and s.figure_years and not years & set(s.figure_years):
        return True  # 2024年的支出规模: a year the texts hold no figure for
    return not matches_any(s.figures_held, frame.text)


def decide_scope(cfg: FrameConfig, frame: Frame, fired: bool, banned: bool, retrieval_in_scope: bool,
                 names_clause: bool = False, general_only: bool = False) -> Scope:
    """The one scope stage, in the order policy/frame.yaml writes down. `names_clause`: the question names a clause
    of the knowledge base (by an alias such as 负面清单, or by an article number the documents hold). `general_only`:
    every rule that fired is a general check (`fallback`) set off by the aspect read alone — for a question that only
    asks how or what, it does not outvote the out-of-scope reader in step 2 (Word文档的目录怎么生成 is not a question
    on the guidance catalogue)."""
    s = cfg.scope
    if general_only and frame.aspect == "out_of_scope":
        fired = False  # the general test, asserted beside an out-of-scope reading, keeps nothing in scope by itself
    pred = frame.predictions.get("aspect")
    p_oos = pred.p("out_of_scope") if pred else 0.0
    reads_oos = reads_out_of_scope(frame)
    # the in-scope aspects together (how_to 0.50 + text_info 0.48 is a question on the texts, not an unsure one)
    aspect_in_scope = bool(pred and pred.value != "out_of_scope" and 1.0 - p_oos >= s.in_scope_at)
    if frame.given:
        return Scope(True, "given")  # the user answered a follow-up or filled the form: the question is ours
    if names_clause:
        return Scope(True, "names_clause")
    if _asks_about_ban(cfg, frame):
        return Scope(True, "asks_about_ban")  # 这算不算劳务派遣？ does the ban on X apply?: a question about a held clause
    names_subject = matches_any(s.subject_words, frame.text)
    if not names_subject and matches_any(s.other_laws, frame.text):
        return Scope(False, "other_law")  # 劳动合同法对派遣比例怎么规定？ what another law says is not ours
    if asks_figure_not_held(cfg, frame):
        return Scope(False, "figure_not_held")  # 满意度指标占多少分？ the texts set no such figure
    if (pred and pred.value != "out_of_scope" and pred.confidence - p_oos >= s.document_names_margin
            and matches_any(s.document_names, frame.text)):
        return Scope(True, "names_document")  # When was Caizong [2023] No. 12 issued? asks about a text held
    if frame.defines:
        return Scope(True, "asks_definition")  # 什么是政府购买服务？ asks what a term of the texts means
    # a buyer and a provider both named with their roles (残联让一家协会直接定下谁领补贴…) say a purchase as plainly as its name
    commissioned = frame.commissioned
    subject_said = names_subject or commissioned or ("purchaser" in frame.slots and "provider" in frame.slots)
    # a how / what question whose words set off a ban but never name the texts' subject (派遣员工的社保由谁交？) is left
    # to the out-of-scope reader; one that names it (政府购买服务对劳务派遣有什么规定？) asks about a held clause
    if (fired and not ((general_only or (banned and not subject_said)) and frame.procedural)
            and (retrieval_in_scope or aspect_in_scope) and p_oos < s.refuse_over_rule_at):
        return Scope(True, "rule")
    refuse_at = s.refuse_over_ban_at if subject_said else s.refuse_over_ban_unnamed_at
    if banned and p_oos < refuse_at and (not frame.procedural or subject_said):
        return Scope(True, "prohibition")  # a prohibition the clause index also finds needs a sure reader to drop
    if fired and commissioned and p_oos < s.commission_refused_at:
        return Scope(True, "commission")  # 能不能请咨询公司帮我们做个研究？ may we have this firm do it: ours
    # the reader's out-of-scope reading gave way to an in-scope one (it asks whether and names the texts' subject,
    # frame.yaml `out_of_scope_yields_below`): a rule that fired answers it (已列预算、在指导性目录里，可以执行吗？)
    yielded = bool(pred and pred.value == "out_of_scope" and frame.aspect != "out_of_scope")
    if fired and yielded and names_subject and cfg.out_of_scope_yields_below and p_oos < cfg.out_of_scope_yields_below:
        return Scope(True, "subject_asked")
    if p_oos >= (s.out_of_scope_over_retrieval_at if retrieval_in_scope else s.out_of_scope_at):
        return Scope(False, "aspect_out_of_scope")
    if fired and (banned or not reads_oos):
        return Scope(True, "rule")  # a prohibition in the question's own words is answered unless the reader is sure
    if fired:
        return Scope(False, "rule_without_support")
    if aspect_in_scope or retrieval_in_scope:
        return Scope(True, "aspect_or_retrieval")
    return Scope(False, "nothing_relevant")

