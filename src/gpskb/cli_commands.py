"""The `gpskb` commands themselves, one function per command (`cmd_…`, taking the parsed arguments and returning the
exit status); gpskb.cli parses the command line and runs them, gpskb.cli_print prints what a person reads."""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from . import config
from .cli_print import (
    print_answer,
    print_bank_report,
    print_clause,
    print_clauses,
    print_error,
    print_eval,
    print_log,
    print_readers_cv,
    print_retrieval_eval,
)
from .errors import GpskbError, InputError

if TYPE_CHECKING:
    from .answer import Engine
    from .evaluation import Question
    from .knowledge import KnowledgeBase

#: the exit status of a usage error or of an error gpskb names (a bad question, a malformed policy file)
EXIT_ERROR = 2


def _kb(args: argparse.Namespace) -> KnowledgeBase:
    from . import policy

    return policy.load(args.policy_dir)


def _engine(args: argparse.Namespace) -> Engine:
    from .answer import Engine

    return Engine(_kb(args), index_dir=args.index_dir, log=print_log)


# -- clauses / show ---------------------------------------------------------------------------------------------


def cmd_clauses(args: argparse.Namespace) -> int:
    print_clauses(_kb(args), args.document)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    kb = _kb(args)
    print_clause(kb, kb.clause(args.clause_id))
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
            print_error(str(exc))
            return EXIT_ERROR
        if not questions and (sys.stdin is None or sys.stdin.closed):
            print_error("no question: standard input is closed (give questions as arguments, or one per line on stdin)")
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
        print_error("give a question: gpskb ask \"能否以劳务派遣方式通过政府购买服务用工？\" (or --json with stdin)")
        return EXIT_ERROR
    engine = _engine(args)
    status = 0
    for q in questions:
        try:
            a = engine.answer(q, facts=args.fact or ())
        except GpskbError as exc:
            print_error(str(exc))
            status = EXIT_ERROR
            continue
        print_answer(q, a)
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
            print_log(f"{exc} — rebuilding")
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
    print_retrieval_eval(res, args.files)
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


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import cross_validate_readers, evaluate_answers

    engine = _engine(args)
    if args.folds:
        cv = cross_validate_readers(engine.kb, engine.index.embedder, folds=args.folds)
        if args.json:
            print(json.dumps({"readers_cv": cv}, ensure_ascii=False))
        print_readers_cv(cv)
        if not args.files:
            return 0
    if not args.files:
        raise GpskbError("give question files, or --folds K to cross-validate the readers")
    qs = _questions(args.files)
    res = evaluate_answers(engine, qs)
    if args.json:
        print(json.dumps(res, ensure_ascii=False))
        return 0 if not res["failures"] else 1
    print_eval(res, args.files, args.summary)
    return 0 if not res["failures"] else 1


def cmd_bank_check(args: argparse.Namespace) -> int:
    """Read a trainer's question bank (CSV or .xlsx), ask gpskb about every item, print where it and the key differ."""
    from . import bank

    path = args.file
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        print_error(f"{path}: {exc.strerror}")
        return EXIT_ERROR
    engine = _engine(args)
    items = bank.parse(data, path, engine.kb.exam)
    report = bank.check(engine, items)
    if args.json:
        out: dict[str, object] = {"summary": report.summary()}
        if not args.summary:
            out["items"] = [c.to_dict() for c in report.items]
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    print_bank_report(path, report, args.summary)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    return run_bench(args)


# -- serve ------------------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from .api import serve

    return serve(args)


# -- store ------------------------------------------------------------------------------------------------------


def cmd_store_purge(args: argparse.Namespace) -> int:
    from .store import STORE_ERRORS, Store

    if args.days is not None and args.days < 0:
        print_error("--days: must be 0 or more")
        return EXIT_ERROR
    try:
        store = Store()  # opening it deletes what is older than the retention period
        counts = store.purge(args.days)
        counts = {t: n + store.purged_on_open[t] for t, n in counts.items()}
    except STORE_ERRORS as exc:
        print_error(f"{config.store_location()}: {exc}")
        return EXIT_ERROR
    kept = store.retention_days if args.days is None else args.days
    print(f"deleted {counts['questions']} logged questions and {counts['feedback']} feedback rows older than {kept} days "
          f"from {store.location}")
    return 0
