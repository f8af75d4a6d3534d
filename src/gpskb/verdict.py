"""From what was read to the answer: the scope stage (with the notes for what an excerpt lacks), the verdict, the
citations (the deciding rules' clauses first, then what retrieval found), the follow-up questions, the notes, and the
Answer with its memo text (gpskb.memo) and rule trace."""
from __future__ import annotations

from .answer_types import Answer, Citation, FollowUpQuestion
from .frame.model import Frame
from .frame.scope import Scope, decide_scope
from .index import Hit, SearchResult
from .jsontypes import JSON
from .knowledge import KnowledgeBase
from .memo import conclusion_of, memo_text
from .numerals import ARTICLE_RE, chinese_number
from .rules import Outcome
from .text import matches_any, normalise


class Combiner:
    """Combines a question's frame, the rules' outcome and retrieval's hits into an Answer, for one knowledge base."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._aliases = [a for c in kb.clauses.values() for a in c.aliases]
        # the general checks: a general test (`fallback`), or a rule set off by the aspect read and nothing else (问目录
        # 和预算、两个条件都没说) — neither keeps a question the out-of-scope reader takes for another subject (Word文档的
        # 目录) in scope by itself
        read = ({v.concept for v in kb.frame.slots["aspect"].values.values() if v.concept}
                if kb.frame else set())
        self._general_rules = {r.id for r in kb.rules if r.fallback or set(r.when.positive) <= read}

    def combine(self, question: str, text: str, frame: Frame, outcome: Outcome, found: SearchResult,
                structured: bool = False) -> Answer:
        """The Answer to `question` (`text`: as it was read; `structured`: facts given by the guided check's form)."""
        wording = self.kb.wording
        notes: list[str] = []
        gaps = [] if structured else self._missing_topics(text)
        scope = self._scope(text, frame, outcome, found, structured, gaps)
        if scope.note:
            notes += scope.note.split("\n")
        if not scope.answered:
            verdict = "out_of_scope"
        else:
            verdict = outcome.verdict if outcome.firings else "no_rule"
            if gaps and verdict != "prohibited":
                # the question turns on a topic the excerpt does not govern: say so, never a neighbouring clause's
                # verdict (a prohibition the question's own words set off still stands)
                verdict = "no_rule"
                notes += gaps
        answered = verdict != "out_of_scope"
        citations = self._citations(outcome, found) if answered else []
        follow_ups = [FollowUpQuestion(f.id, f.question, [{"label": lbl, "facts": list(fs)} for lbl, fs in f.options])
                      for f in outcome.follow_ups] if answered else []
        if answered:
            notes += self._documents_differ(outcome)
        understood = _understood(frame, verdict)
        conclusion = conclusion_of(wording, verdict, outcome)
        text_out = memo_text(self.kb, verdict, conclusion, outcome, citations, follow_ups, understood)
        if notes:
            text_out += "\n" + "\n".join(f"注：{n}" for n in notes)
        english = None
        if frame.english:
            english = wording.english_line.format(verdict=wording.verdicts[verdict].english)
            text_out = english + "\n" + text_out
        trace = outcome.trace() if answered else []  # a refused prohibition is named in the notes
        return Answer(question, verdict, text_out, citations, trace, follow_ups, _fact_view(frame, scope), {}, notes,
                      conclusion, understood, english, wording.verdicts[verdict].badge)

    def _scope(self, text: str, frame: Frame, outcome: Outcome, found: SearchResult, structured: bool,
               gaps: list[str]) -> Scope:
        """The scope stage (policy/frame.yaml), and the articles an excerpt lacks when the question names them."""
        if structured:
            return Scope(True, "form")
        banned = outcome.verdict == "prohibited"
        decisive = outcome.decisive
        ban_words = decisive.matched if banned and decisive else []
        missing = self._missing_articles(text)
        if missing and not banned:
            return Scope(False, "missing_article", "\n".join(missing))
        if not banned and matches_any(self.kb.frame.scope.other_documents, normalise(text)):
            held = "、".join(d.number + ("（节选）" if d.excerpt else "") for d in self.kb.documents.values())
            return Scope(False, "other_document", self.kb.wording.notes.other_document.format(held=held))
        if gaps and not banned:
            return Scope(True, "missing_topic")  # the order governs it, the excerpt lacks it: said in the notes
        general_only = bool(outcome.firings) and all(f.rule.id in self._general_rules for f in outcome.firings)
        scope = decide_scope(self.kb.frame, frame, bool(outcome.firings), banned, found.in_scope,
                             names_clause=self._names_clause(text) or bool(frame.facts.defined),
                             general_only=general_only)
        if scope.answered:
            return scope
        notes = self.kb.wording.notes
        # the steps whose reason the answer says, and the ban words a refused question used (never dropped silently)
        said = [{"figure_not_held": notes.figure_not_held, "other_law": notes.other_law}.get(scope.step),
                notes.ban_words_not_asked.format(words="、".join(ban_words)) if ban_words else None]
        return Scope(False, scope.step, "\n".join(filter(None, said)) or None)

    def _names_clause(self, text: str) -> bool:
        """Whether the question names a clause the knowledge base holds: an alias (负面清单) or 第N条 of a document
        that has that article."""
        norm = normalise(text)
        if any(normalise(a) in norm for a in self._aliases):
            return True
        numbers = {f"第{n}条" for n in ARTICLE_RE.findall(text)}
        return any(c.number in numbers for c in self.kb.clauses.values() if c.kind == "article")


    def _citations(self, outcome: Outcome, found: SearchResult) -> list[Citation]:
        """The clauses of the rules that decided, supported or were overridden, then what retrieval ranks first (a
        general check that decided keeps retrieval's best passage among the first), up to `max_citations`."""
        retrieval = self.kb.retrieval
        hits = {h.clause_id: h for h in found.hits}
        citations: list[Citation] = []
        deciding = [f for f in outcome.firings if f.status in ("decisive", "supporting", "overridden")]
        rule_clauses = list(dict.fromkeys(c for f in deciding for c in f.rule.clauses))
        for cid in rule_clauses:
            citations.append(self._citation(cid, hits[cid], "rule"))
        at = retrieval.get("fallback_retrieval_at")
        decisive = [f for f in outcome.firings if f.status == "decisive"]
        if at is not None and decisive and all(f.rule.fallback for f in decisive):
            # a general check decided: the passage retrieval ranks first stays among the first citations
            best = next((h for h in found.hits if h.clause_id not in rule_clauses), None)
            if best is not None:
                citations.insert(min(at, len(citations)), self._citation(best.clause_id, best, "retrieval"))
                rule_clauses.append(best.clause_id)
        limit = max(retrieval["max_citations"], len(citations))
        for h in found.hits:
            if len(citations) >= limit:
                break
            if h.clause_id not in rule_clauses:
                citations.append(self._citation(h.clause_id, h, "retrieval"))
        return citations

    def _documents_differ(self, outcome: Outcome) -> list[str]:
        """A note when the two documents' rules that fired reach different conclusions (the stricter one is taken)."""
        kb = self.kb
        docs = {kb.clauses[f.rule.clauses[0]].document: f for f in outcome.firings
                if f.status in ("decisive", "supporting", "overridden")}
        if len(docs) > 1:
            outcomes = {d: f.rule.outcome for d, f in docs.items()}
            if len(set(outcomes.values())) > 1:
                return ["注意：两份文件的规则结论不同（" + "；".join(
                    f"{kb.documents[d].number}：{kb.wording.verdicts[o].badge}" for d, o in outcomes.items()) +
                    "），按优先级采用较严格的结论，详见规则轨迹。"]
        return []

    def _citation(self, clause_id: str, hit: Hit, reason: str) -> Citation:
        clause = self.kb.clauses[clause_id]
        doc = self.kb.document_of(clause)
        return Citation(clause_id, doc.number, clause.label, clause.text, hit.score, clause.ref, hit.sentence,
                        hit.span, hit.terms, reason, doc.excerpt, doc.excerpt_note if doc.excerpt else None)

    def _missing_topics(self, text: str) -> list[str]:
        """Notes for topics an excerpted document does not govern (document `missing_topics`: 转包, 法律责任 …):
        the knowledge base lacks the articles that would decide them."""
        norm = normalise(text)
        notes = []
        for doc in self.kb.documents.values():
            if not doc.excerpt:
                continue
            gaps = "；".join(m["articles"] for m in doc.meta.get("missing") or ())
            for t in doc.missing_topics(norm):
                notes.append(self.kb.wording.notes.missing_topic.format(label=t["label"], document=doc.number, gaps=gaps))
        return notes

    def _missing_articles(self, text: str) -> list[str]:
        """Notes for articles the question names (第二十条) that an excerpted document does not hold: the honest
        answer is that the knowledge base lacks them, never a neighbouring article."""
        notes = []
        for num in ARTICLE_RE.findall(text):
            n = chinese_number(num)
            for doc in self.kb.documents.values():
                gap = doc.missing_article(n) if n is not None and doc.excerpt else None
                if gap:
                    notes.append(f"{doc.number}第{num}条不在本知识库收录的节选中（节选缺{gap}），请查阅官方文本。"
                                 f"/ Article {n} of {doc.number} is missing from the excerpt held here.")
        return notes


def _understood(frame: Frame, verdict: str) -> dict[str, str]:
    """The aspect asked, as read: {"aspect", "label", "shown"} (no label when the question was answered although the
    aspect reader took it for out of scope)."""
    aspect = frame.slots.get("aspect")
    understood = {"aspect": frame.aspect, "label": aspect.label if aspect else "",
                  "shown": aspect.describe() if aspect else ""}
    if frame.aspect == "out_of_scope" and verdict != "out_of_scope":
        understood["label"] = ""  # the scope stage answered it after all: do not say it was not understood
    return understood


def _fact_view(frame: Frame, scope: Scope) -> JSON:
    """What was read, as the answer's `facts` show it: concepts, denials, mentions, given facts, the frame, the scope
    step."""
    return {
        "concepts": sorted(frame.concepts),
        "negated": sorted(frame.negated),
        "mentions": [{"concept": m.concept, "term": m.term, "start": m.start, "end": m.end,
                      "negated": m.negated, "cue": m.cue} for m in frame.mentions],
        "given": sorted(frame.given),
        "frame": frame.as_dict(),
        "scope": scope.step,
    }
