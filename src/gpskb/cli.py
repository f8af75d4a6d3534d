"""The `gpskb` command: a thin layer over the library that turns its named errors into one-line messages."""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, config
from .errors import GpskbError, InputError

if TYPE_CHECKING:
    from .answer import Engine
    from .evaluation import Question
    from .knowledge import KnowledgeBase

EXIT_ERROR = 2


def _err(msg: str) -> None:
    print(f"gpskb: error: {msg}", file=sys.stderr)


def _print_help(parser: argparse.ArgumentParser, _args: argparse.Namespace) -> int:
    """A command group named without its action (`gpskb index`): its help, and the usage-error exit status."""
    parser.print_help()
    return EXIT_ERROR


def _log(msg: str) -> None:
    print(f"gpskb: {msg}", file=sys.stderr)


def _kb(args: argparse.Namespace) -> KnowledgeBase:
    from . import policy

    return policy.load(args.policy_dir)


def _engine(args: argparse.Namespace) -> Engine:
    from .answer import Engine

    return Engine(_kb(args), index_dir=args.index_dir, log=_log)


# -- clauses / show ---------------------------------------------------------------------------------------------


def cmd_clauses(args: argparse.Namespace) -> int:
    kb = _kb(args)
    for doc in kb.documents.values():
        if args.document and doc.id != args.document:
            continue
        mark = "（节选）" if doc.excerpt else ""
        print(f"# {doc.number}{mark} {doc.title}")
        if doc.excerpt:
            print(f"# {doc.excerpt_note}")
        for c in kb.clauses.values():
            if c.document == doc.id:
                print(f"{c.id}\t{c.label}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    kb = _kb(args)
    clause = kb.clause(args.clause_id)
    doc = kb.document_of(clause)
    print(f"{doc.number}《{doc.title}》" + ("（节选）" if doc.excerpt else ""))
    print(f"{clause.id}  {clause.label}")
    print()
    print(clause.text)
    if clause.sources:
        print(f"\n来源：{clause.sources}")
    if doc.excerpt:
        print(f"\n注：{doc.excerpt_note}")
    return 0


# -- ask --------------------------------------------------------------------------------------------------------


def _stdin_lines() -> Iterator[str | bytes]:
    """Questions from standard input, one per line; undecodable lines are passed on as bytes (reported per line)."""
    for raw in sys.stdin.buffer:
        line = raw.rstrip(b"\r\n")
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            yield line


def cmd_ask(args: argparse.Namespace) -> int:
    from .answer import answer_dict

    questions = args.questions
    if args.json:
        engine = _engine(args)
        facts = tuple(args.fact or ())
        try:  # the facts apply to every question: an unknown one is refused once, before any is answered
            engine.reader.given(facts)
        except InputError as exc:
            _err(str(exc))
            return EXIT_ERROR
        source = questions if questions else _stdin_lines()
        out = sys.stdout
        for q in source:
            if not questions and q in ("", b""):
                continue  # empty lines between questions on stdin are not questions (whitespace-only lines are)
            out.write(json.dumps(answer_dict(engine, q, facts), ensure_ascii=False) + "\n")
            out.flush()
        return 0
    if not questions:
        _err("give a question: gpskb ask \"能否以劳务派遣方式通过政府购买服务用工？\" (or --json with stdin)")
        return EXIT_ERROR
    engine = _engine(args)
    status = 0
    for q in questions:
        try:
            a = engine.answer(q, facts=args.fact or ())
        except GpskbError as exc:
            _err(str(exc))
            status = EXIT_ERROR
            continue
        print(f"【{a.badge}】{q}")
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
                print(f"  - {o['label']}: gpskb ask {' '.join('--fact ' + x for x in o['facts'])} \"{q}\"")
        if len(questions) > 1:
            print()
    return status


# -- index ------------------------------------------------------------------------------------------------------


def cmd_index_build(args: argparse.Namespace) -> int:
    from .index import Index
    from .index.embedders import make_embedder

    kb = _kb(args)
    directory = config.index_dir(kb.policy_dir, args.index_dir)
    embedder = make_embedder()
    if args.if_stale:
        try:
            Index.load(kb, directory, embedder)
            print(f"index in {directory} is up to date")
            return 0
        except GpskbError as exc:
            _log(f"{exc} — rebuilding")
    t0 = time.perf_counter()
    # --if-stale (what `make run` does) keeps readers trained on the same examples; a plain build retrains them
    index = Index.build(kb, embedder, cache_dir=directory, reuse_readers=args.if_stale)
    index.save(directory)
    m = index.manifest
    print(f"built {directory}: {m['chunks']} passages over {m['clauses']} clauses, embedder {m['embedder']['id']} "
          f"{m['embedder']['version']}, corpus {m['corpus_hash'][:12]}, in {time.perf_counter() - t0:.2f} s")
    return 0


def cmd_index_status(args: argparse.Namespace) -> int:
    from .index.embedders import make_embedder
    from .index.manifest import read_manifest, staleness

    kb = _kb(args)
    directory = config.index_dir(kb.policy_dir, args.index_dir)
    manifest = read_manifest(directory)
    emb = make_embedder()
    why = staleness(manifest, kb, emb.id, emb.version)
    print(json.dumps(manifest, ensure_ascii=False, indent=2))
    print("status: " + ("STALE: " + why if why else "fresh"))
    return 1 if why else 0


def _questions(paths: Iterable[str]) -> list[Question]:
    from .evaluation import load_questions

    out: list[Question] = []
    for p in paths:
        out += load_questions(p)
    return out


def cmd_index_eval(args: argparse.Namespace) -> int:
    from .evaluation import evaluate_retrieval

    engine = _engine(args)
    qs = _questions(args.files)
    t0 = time.perf_counter()
    res = evaluate_retrieval(engine, qs)
    print(f"retrieval evaluation: {res['n']} questions ({res['cited_questions']} with expected clauses) "
          f"from {', '.join(args.files)}")
    print(f"{'ranker':<10}{'hit@1':>8}{'hit@3':>8}{'MRR':>8}")
    for r, s in res["rankers"].items():
        print(f"{r:<10}{s['hit1']:>8.3f}{s['hit3']:>8.3f}{s['mrr']:>8.3f}")
    print("out-of-scope detection:")
    for name, s in res["out_of_scope"].items():
        p = "n/a" if s["precision"] is None else f"{s['precision']:.3f}"
        r = "n/a" if s["recall"] is None else f"{s['recall']:.3f}"
        print(f"  {name:<20} precision {p}  recall {r}  in-scope flagged {s['in_scope_flagged']}")
    print(f"({time.perf_counter() - t0:.1f} s)")
    if args.json:
        print(json.dumps(res, ensure_ascii=False))
    return 0


def cmd_index_calibrate(args: argparse.Namespace) -> int:
    from .evaluation import calibrate

    engine = _engine(args)
    res = calibrate(engine, _questions(args.files))
    print(json.dumps(res, ensure_ascii=False, indent=2))
    cur = engine.kb.retrieval["out_of_scope"]
    print(f"current: lexical_weight {cur['lexical_weight']}, threshold {cur['threshold']}")
    print(f"suggested: lexical_weight {res['lexical_weight']}, threshold {res['threshold']} "
          f"(put them in policy/retrieval.yaml, out_of_scope)")
    return 0


# -- eval / bench -----------------------------------------------------------------------------------------------


def _figure(value: float | None) -> str:
    """A ratio as the evaluation prints it (three decimals; n/a when there was nothing to count)."""
    return "n/a" if value is None else f"{value:.3f}"


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import cross_validate_readers, evaluate_answers

    engine = _engine(args)
    if args.folds:
        cv = cross_validate_readers(engine.kb, engine.index.embedder, folds=args.folds)
        if args.json:
            print(json.dumps({"readers_cv": cv}, ensure_ascii=False))
        for slot, r in cv.items():
            print(f"reader {slot}: {r['folds']}-fold accuracy mean {_figure(r['mean'])}, "
                  f"worst fold {_figure(r['worst'])}; "
                  "recall " + ", ".join(f"{v} {x:.2f}" for v, x in r["recall"].items()))
        if not args.files:
            return 0
    if not args.files:
        raise GpskbError("give question files, or --folds K to cross-validate the readers")
    qs = _questions(args.files)
    res = evaluate_answers(engine, qs)
    if args.json:
        print(json.dumps(res, ensure_ascii=False))
        return 0 if not res["failures"] else 1
    if not args.summary:
        for f in res["failures"]:
            print(f"FAIL {f['id']} ({f['file']}): {f['q']}")
            for p in f["problems"]:
                print(f"     {p}")
    print(f"questions: {res['n']} from {', '.join(args.files)}")
    print(f"verdict accuracy:    {_figure(res['verdict_accuracy'])} ({res['eligibility']} eligibility questions)")
    print(f"citation hit@1:      {_figure(res['hit1'])}")
    print(f"citation hit@3:      {_figure(res['hit3'])} ({res['cited_questions']} questions with expected clauses)")
    print(f"out-of-scope:        precision {_figure(res['oos_precision'])}, recall {_figure(res['oos_recall'])} "
          f"({res['out_of_scope']} out-of-scope questions, {res['in_scope_flagged']} in-scope flagged)")
    print(f"unsafe:              {res['unsafe']} (the text prohibits; answered allowed, no_rule or out of scope)")
    if res["english"]:
        print(f"English verdicts:    {_figure(res['english_verdict_accuracy'])} ({res['english']} questions)")
    if res["aspects"]:
        print(f"aspect understood:   {_figure(res['aspect_accuracy'])} ({res['aspects']} questions)")
    print(f"failures:            {len(res['failures'])}")
    return 0 if not res["failures"] else 1


def cmd_bank_check(args: argparse.Namespace) -> int:
    """Read a trainer's question bank (CSV or .xlsx), ask gpskb about every item, print where it and the key differ."""
    from . import bank

    path = args.file
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        _err(f"{path}: {exc.strerror}")
        return EXIT_ERROR
    engine = _engine(args)
    items = bank.parse(data, path, engine.kb.exam)
    report = bank.check(engine, items)
    summary = report.summary()
    if args.json:
        out: dict[str, object] = {"summary": summary}
        if not args.summary:
            out["items"] = [c.to_dict() for c in report.items]
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    print(f"{path}: {summary['items']} 题 · 与答案一致 {summary['agree']} · 不一致 {summary['disagree']} · "
          f"gpskb 未判断 {summary['undecided']} · 一致率 {summary['agreement']:.3f}")
    for t, s in summary["by_type"].items():
        print(f"  {t}: {s['agree']}/{s['items']}")
    if args.summary:
        return 0
    for c in report.disagreements + report.undecided:
        it = c.item
        mark = "不一致" if c.agrees is False else "未判断"
        print(f"\n[{mark}] 第 {it.row} 行 {it.type}：{it.stem}")
        for letter, option in it.options.items():
            print(f"    {letter}. {option}")
        print(f"  答案 {it.key} · gpskb {c.gpskb_key or '—'}")
        for s in c.statements:
            head = f"{s.letter}: " if s.letter else ""
            said = bank.TRUTH_LABEL[s.true]
            cites = "、".join(s.citations[:2])
            print(f"    {head}{s.verdict} → {said}  {cites}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    return run_bench(args)


# -- serve ------------------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from .api import serve

    return serve(args)


# -- the parser -------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gpskb", description="Can this service be bought through 政府购买服务? "
                                "Verdicts from the rules of the policy texts, with the clauses to prove it.")
    p.add_argument("--version", action="version", version=f"gpskb {__version__}")
    p.add_argument("--policy-dir", help=f"policy folder (default: ${config.Settings.variable('policy_dir')} or the project's policy/)")
    p.add_argument("--index-dir", help=f"index folder (default: ${config.Settings.variable('index_dir')} or index/ beside the policy folder)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("clauses", help="list clause ids and labels of every document")
    s.add_argument("--document", help="only this document id (e.g. caizong-2023-12)")
    s.set_defaults(func=cmd_clauses)

    s = sub.add_parser("show", help="print one clause with its document and label")
    s.add_argument("clause_id", help="e.g. caizong-2023-12/11")
    s.set_defaults(func=cmd_show)

    s = sub.add_parser("ask", help="answer questions: verdict, answer text, cited clauses, rule trace")
    s.add_argument("questions", nargs="*", help="questions (with --json and none given: one per line on stdin)")
    s.add_argument("--json", action="store_true", help="JSON Lines out, one object per question, in order")
    s.add_argument("--fact", action="append", metavar="CONCEPT",
                   help="a fact given directly, e.g. --fact by_results (answers a follow-up)")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("index", help="build, check and evaluate the search index")
    isub = s.add_subparsers(dest="index_command", metavar="ACTION")
    b = isub.add_parser("build", help="build index/ (FAISS + manifest)")
    b.add_argument("--if-stale", action="store_true", help="only if missing or stale")
    b.set_defaults(func=cmd_index_build)
    b = isub.add_parser("status", help="print the manifest and whether the index is fresh (exit 1 if stale)")
    b.set_defaults(func=cmd_index_status)
    b = isub.add_parser("eval", help="retrieval hit@1/hit@3/MRR per ranker and fused, out-of-scope precision/recall")
    b.add_argument("files", nargs="+", help="question files (format of eval/dev-questions.yaml)")
    b.add_argument("--json", action="store_true", help="also print the figures as JSON")
    b.set_defaults(func=cmd_index_eval)
    b = isub.add_parser("calibrate", help="choose the out-of-scope thresholds on labelled questions")
    b.add_argument("files", nargs="+", help="question files with in-scope and out-of-scope questions")
    b.set_defaults(func=cmd_index_calibrate)
    index_parser = s
    s.set_defaults(func=functools.partial(_print_help, index_parser))

    s = sub.add_parser("eval", help="answer a question file: verdict accuracy, citation hit@1/3, out-of-scope P/R")
    s.add_argument("files", nargs="*", help="question files (format of eval/dev-questions.yaml)")
    s.add_argument("--json", action="store_true", help="print the figures and failures as JSON")
    s.add_argument("--summary", action="store_true",
                   help="figures only, no failing questions (for a blind set: measure without reading it)")
    s.add_argument("--folds", type=int, default=0, metavar="K",
                   help="also cross-validate the frame's readers on policy/examples.yaml with K folds")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("bank", help="trainers' question banks (题库: 判断/单选/多选 with keys)")
    bsub = s.add_subparsers(dest="bank_command", metavar="ACTION")
    b = bsub.add_parser("check", help="ask gpskb about every item of a CSV/.xlsx bank; list where it and the key differ")
    b.add_argument("file", help="a .csv (UTF-8 or GBK) or .xlsx file: 题型,题干,选项A…选项D,答案")
    b.add_argument("--json", action="store_true", help="the report as JSON")
    b.add_argument("--summary", action="store_true", help="figures only, no items (for a blind bank)")
    b.set_defaults(func=cmd_bank_check)
    bank_parser = s
    s.set_defaults(func=functools.partial(_print_help, bank_parser))

    s = sub.add_parser("bench", help="speed and memory: cold start, warm p50/p95/max, peak RSS, rules alone")
    s.add_argument("--questions", nargs="+", default=None, help="question files (default: the project's eval/)")
    s.add_argument("--evaluations", type=int, default=10_000, help="rule evaluations for the memory check")
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("serve", help="the HTTP API (FastAPI + uvicorn)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(func=cmd_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    try:
        status: int = args.func(args) or 0
        return status
    except GpskbError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
