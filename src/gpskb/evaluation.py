"""Evaluation over question files (the format of eval/dev-questions.yaml): answer accuracy, retrieval per ranker,
and the calibration of the out-of-scope thresholds."""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import QuestionFileError
from .jsontypes import JSON
from .knowledge import KnowledgeBase
from .schema.check import check
from .schema.texts import QuestionEntry
from .yamlfiles import display_path, read_yaml

if TYPE_CHECKING:
    from .answer import Engine
    from .index.embedders import Embedder

DEFAULT_DOCUMENT = "caizong-2023-12"


@dataclass
class Question:
    id: str
    kind: str
    q: str
    verdict: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)  # clause ids, any of which must be in the first three
    file: str = ""
    aspect: str | None = None
    lang: str = "zh"


def expected_clause(cite: object, file: str, where: str) -> str:
    """A `cite` entry as a clause id: 11 → caizong-2023-12/11, 0 → /preamble, meta → /closing, 'part-1' → /part-1,
    and full ids ('mof-order-102/10') as they are."""
    if isinstance(cite, bool):
        raise QuestionFileError(file, where, f"invalid cite {cite!r}")
    if isinstance(cite, int):
        return f"{DEFAULT_DOCUMENT}/{'preamble' if cite == 0 else cite}"
    if isinstance(cite, str):
        if cite == "meta":
            return f"{DEFAULT_DOCUMENT}/closing"
        if re.fullmatch(r"part-\d", cite):
            return f"{DEFAULT_DOCUMENT}/{cite}"
        if "/" in cite:
            return cite
    raise QuestionFileError(file, where, f"invalid cite {cite!r} (an item number, 0, meta, part-N or a clause id)")


def load_questions(path: str | os.PathLike[str]) -> list[Question]:
    name = display_path(Path(path))
    data = read_yaml(Path(path))
    if not isinstance(data, list):
        raise QuestionFileError(name, "", "expected a list of questions")
    out: list[Question] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        where = f"[{i}]"
        if isinstance(item, dict) and isinstance(item.get("cite"), list):
            cites = item["cite"]
            item = dict(item, cite=None)
        else:
            cites = None
        check(QuestionEntry, item, name, QuestionFileError, where)
        if item["id"] in seen:
            raise QuestionFileError(name, f"{where}.id", f"duplicate question id {item['id']!r}")
        seen.add(item["id"])
        expected = [expected_clause(c, name, f"{where}.cite[{j}]") for j, c in enumerate(cites or [])]
        if item["kind"] == "eligibility" and not item.get("verdict"):
            raise QuestionFileError(name, f"{where}.verdict", "field required for an eligibility question")
        # (an eligibility question whose only right verdict is no_rule — its governing article is not in the texts held,
        # as with the parts an excerpt leaves out — has no clause to cite: `cite: []` says so; so has a question on the
        # texts answered by a document's heading, not a clause: when it was issued, by whom)
        nothing_to_cite = (item["kind"] in ("eligibility", "info") and item.get("verdict") in (None, ["no_rule"])
                           and cites == [])
        if item["kind"] != "out_of_scope" and not expected and not nothing_to_cite:
            raise QuestionFileError(name, f"{where}.cite", "field required for an in-scope question")
        out.append(Question(item["id"], item["kind"], item["q"], list(item.get("verdict") or []), expected, name,
                            item.get("aspect"), item.get("lang") or "zh"))
    return out


def _hit(expected: list[str], got: list[str], n: int) -> bool:
    """Whether any expected clause is among the first n got (an article and its items count as the same place)."""
    for g in got[:n]:
        for e in expected:
            if g == e or g.startswith(e + "/") or e.startswith(g + "/"):
                return True
    return False


def _rank(expected: list[str], got: list[str]) -> int | None:
    for i, g in enumerate(got, 1):
        if _hit(expected, [g], 1):
            return i
    return None


def evaluate_answers(engine: Engine, questions: list[Question]) -> JSON:
    """Answer every question; verdict accuracy, citation hit@1/hit@3, out-of-scope precision/recall, failures."""
    rows: list[JSON] = []
    failures: list[JSON] = []
    aspects = set(engine.kb.frame.slots["aspect"].values) if engine.kb.frame else set()
    for q in questions:
        if q.aspect and aspects and q.aspect not in aspects:
            raise QuestionFileError(q.file, f"{q.id}.aspect", f"unknown aspect {q.aspect!r} (policy/frame.yaml slots.aspect)")
        a = engine.answer(q.q)
        cited = [c.clause_id for c in a.citations]
        row: JSON = {"id": q.id, "kind": q.kind, "verdict": a.verdict, "cited": cited, "lang": q.lang}
        problems = []
        if q.kind == "eligibility":
            row["verdict_ok"] = a.verdict in q.verdict
            # the costliest error: the text prohibits, and the answer lets it through or says nothing
            row["unsafe"] = q.verdict == ["prohibited"] and a.verdict in ("allowed", "no_rule", "out_of_scope")
            if not row["verdict_ok"]:
                problems.append(f"verdict {a.verdict}, expected {'/'.join(q.verdict)}" +
                                (" (UNSAFE)" if row["unsafe"] else ""))
        if q.aspect and q.aspect != "out_of_scope":
            row["aspect_ok"] = a.understood.get("aspect") == q.aspect
            if not row["aspect_ok"]:
                problems.append(f"understood {a.understood.get('aspect')}, asked {q.aspect}")
        if q.expected:
            row["hit1"] = _hit(q.expected, cited, 1)
            row["hit3"] = _hit(q.expected, cited, 3)
            if not row["hit3"]:
                problems.append(f"cited {cited[:3] or 'nothing'}, expected one of {q.expected}")
        row["flagged"] = a.verdict == "out_of_scope"
        if q.kind == "out_of_scope" and not row["flagged"]:
            problems.append(f"not flagged out of scope (verdict {a.verdict}, cited {cited[:3]})")
        if q.kind != "out_of_scope" and row["flagged"]:
            problems.append("in scope but flagged out of scope")
        rows.append(row)
        if problems:
            failures.append({"id": q.id, "file": q.file, "q": q.q, "problems": problems})
    return {"n": len(rows), **_summary(rows), "failures": failures}


def _summary(rows: list[JSON]) -> JSON:
    elig = [r for r in rows if "verdict_ok" in r]
    cited = [r for r in rows if "hit3" in r]
    flagged = [r for r in rows if r["flagged"]]
    oos = [r for r in rows if r["kind"] == "out_of_scope"]
    tp = sum(1 for r in flagged if r["kind"] == "out_of_scope")
    english = [r for r in elig if r.get("lang") == "en"]
    aspects = [r for r in rows if "aspect_ok" in r]
    return {
        "verdict_accuracy": _ratio(sum(r["verdict_ok"] for r in elig), len(elig)),
        "eligibility": len(elig),
        "unsafe": sum(1 for r in elig if r.get("unsafe")),
        "english_verdict_accuracy": _ratio(sum(r["verdict_ok"] for r in english), len(english)),
        "english": len(english),
        "aspect_accuracy": _ratio(sum(r["aspect_ok"] for r in aspects), len(aspects)),
        "aspects": len(aspects),
        "hit1": _ratio(sum(r["hit1"] for r in cited), len(cited)),
        "hit3": _ratio(sum(r["hit3"] for r in cited), len(cited)),
        "cited_questions": len(cited),
        "oos_precision": _ratio(tp, len(flagged)) if flagged else (1.0 if not oos else 0.0),
        "oos_recall": _ratio(tp, len(oos)) if oos else 1.0,
        "out_of_scope": len(oos),
        "in_scope_flagged": len(flagged) - tp,
    }


def _ratio(a: float, b: int) -> float | None:
    return round(a / b, 4) if b else None


def evaluate_retrieval(engine: Engine, questions: list[Question]) -> JSON:
    """hit@1, hit@3, MRR for each ranker alone and for the fusion (retrieval only, no rules), and the out-of-scope
    decision's precision and recall with the retrieval thresholds alone and with the lexicon signal added."""
    rankers = ("dense", "lexical", "concept", "fused")
    stats: dict[str, dict[str, float]] = {r: {"hit1": 0, "hit3": 0, "rr": 0.0} for r in rankers}
    n_cited = 0
    oos_rows: dict[str, list[tuple[str, bool]]] = {"retrieval": [], "retrieval+rules": []}
    for q in questions:
        facts = engine.read(q.q)
        found = engine.index.search(q.q, concepts=facts.concepts)
        if q.expected:
            n_cited += 1
            for r in rankers:
                got = found.ranking(r)
                stats[r]["hit1"] += _hit(q.expected, got, 1)
                stats[r]["hit3"] += _hit(q.expected, got, 3)
                rank = _rank(q.expected, got)
                stats[r]["rr"] += 1 / rank if rank else 0
        oos_rows["retrieval"].append((q.kind, not found.in_scope))
        oos_rows["retrieval+rules"].append((q.kind, not (found.in_scope or bool(engine.rules.evaluate(facts).firings))))
    table = {r: {"hit1": _ratio(s["hit1"], n_cited), "hit3": _ratio(s["hit3"], n_cited),
                 "mrr": round(s["rr"] / n_cited, 4) if n_cited else None} for r, s in stats.items()}
    oos = {}
    for name, rows in oos_rows.items():
        flagged = [k for k, f in rows if f]
        actual = [k for k, _ in rows if k == "out_of_scope"]
        tp = sum(1 for k in flagged if k == "out_of_scope")
        oos[name] = {"precision": _ratio(tp, len(flagged)) if flagged else None,
                     "recall": _ratio(tp, len(actual)) if actual else None,
                     "in_scope_flagged": len(flagged) - tp}
    return {"n": len(questions), "cited_questions": n_cited, "rankers": table, "out_of_scope": oos}


def calibrate(engine: Engine, questions: list[Question],
              weights: Sequence[float] = (0.0, 0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02)) -> JSON:
    """Choose the out-of-scope rule (scope score = top dense cosine + w × top BM25 score >= threshold) on labelled
    questions.

    Only questions no rule decides matter (a rule's verdict makes a question in scope anyway). For each weight
    w, every midpoint between observed scores is a candidate threshold; the choice has the fewest errors, counting an
    in-scope question flagged out of scope as two errors (refusing a real question is worse than citing weakly), and
    among those the widest gap to the nearest question on either side, relative to the spread of the scores.
    """
    pts = []
    for q in questions:
        facts = engine.read(q.q)
        if engine.rules.evaluate(facts).firings:
            continue
        found = engine.index.search(q.q, concepts=facts.concepts)
        pts.append((q.kind == "out_of_scope", found.top_dense, found.top_lexical, q.id))
    if not pts:
        raise QuestionFileError("calibration", "", "no questions that no rule decides, to calibrate on")
    dense = np.array([p[1] for p in pts])
    lex = np.array([p[2] for p in pts])
    oos = np.array([p[0] for p in pts])
    best = None
    for w in weights:
        score = dense + w * lex
        u = np.unique(score)
        spread = float(u[-1] - u[0]) or 1.0
        for t in np.concatenate([[u[0] - 1e-4], (u[:-1] + u[1:]) / 2, [u[-1] + 1e-4]]):
            flag = score < t
            errors = int(np.sum(flag & ~oos)) * 2 + int(np.sum(~flag & oos))
            above, below = score[score >= t], score[score < t]
            gap = (float(above.min() - t) if above.size else 0) + (float(t - below.max()) if below.size else 0)
            key = (errors, -gap / spread)
            if best is None or key < best[0]:
                best = (key, float(w), float(t), flag)
    assert best is not None, "no candidate weight"  # the grid is never empty
    (errors, _), w, t, flag = best
    return {
        "lexical_weight": w, "threshold": round(t, 4), "errors_weighted": errors,
        "questions": len(pts), "out_of_scope": int(oos.sum()),
        "in_scope_flagged": [p[3] for p, f in zip(pts, flag, strict=False) if f and not p[0]],
        "out_of_scope_missed": [p[3] for p, f in zip(pts, flag, strict=False) if not f and p[0]],
    }


def cross_validate_readers(kb: KnowledgeBase, embedder: Embedder, folds: int = 5, seed: int = 0,
                           n_jobs: int | None = None) -> dict[str, JSON]:
    """k-fold cross-validation of the frame's slot classifiers on policy/examples.yaml: for each fold, train on
    the other folds (as `gpskb index build` does) and read the held-out examples. Per slot: mean and worst fold
    accuracy, and recall per value. (The question files are never training data, so evaluating a question file
    is already a leave-that-file-out measurement.)"""
    from sklearn.model_selection import StratifiedKFold

    from .index.embedders import query_vectors
    from .learn import SlotReaders
    from .text import normalise

    out = {}
    for slot, values in kb.examples.items():
        texts = [t for v in values for t in values[v]]
        labels = np.array([v for v in values for _ in values[v]])
        k = max(2, min(folds, min(len(x) for x in values.values())))
        accs, hits, totals = [], {v: 0 for v in values}, {v: len(values[v]) for v in values}
        for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(texts, labels):
            sub = {v: [texts[i] for i in train if labels[i] == v] for v in values}
            readers = SlotReaders.train({slot: sub}, lambda ts: query_vectors(embedder, ts), n_jobs=n_jobs)
            right = 0
            for i in test:
                norm = normalise(texts[i])
                got = readers.predict(norm, embedder.query(norm))[slot].value
                right += got == labels[i]
                hits[labels[i]] += got == labels[i]
            accs.append(right / len(test))
        out[slot] = {"folds": k, "mean": round(float(np.mean(accs)), 4), "worst": round(float(np.min(accs)), 4),
                     "recall": {v: round(hits[v] / totals[v], 3) for v in values}}
    return out
