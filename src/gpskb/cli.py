"""The `gpskb` command: a thin layer over the library that turns its named errors into one-line messages. This module
parses the command line (build_parser) and runs the command (main); the commands are gpskb.cli_commands'."""
from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence

from . import __version__, config
from .cli_commands import (
    EXIT_ERROR,
    cmd_ask,
    cmd_bank_check,
    cmd_bench,
    cmd_clauses,
    cmd_eval,
    cmd_index_build,
    cmd_index_calibrate,
    cmd_index_eval,
    cmd_index_status,
    cmd_serve,
    cmd_show,
    cmd_store_purge,
)
from .cli_print import print_error
from .errors import GpskbError


def _print_help(parser: argparse.ArgumentParser, _args: argparse.Namespace) -> int:
    """A command group named without its action (`gpskb index`): its help, and the usage-error exit status."""
    parser.print_help()
    return EXIT_ERROR


# -- the parser -------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gpskb", description="Can this service be bought through 政府购买服务? "
                                "Verdicts from the rules of the policy texts, with the clauses to prove it.")
    p.add_argument("--version", action="version", version=f"gpskb {__version__}")
    p.add_argument("--policy-dir", help=f"policy folder (default: ${config.Settings.variable('policy_dir')} or the project's policy/)")
    p.add_argument("--index-dir", help=f"index folder (default: ${config.Settings.variable('index_dir')} or index/ beside the policy folder)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    _add_text_commands(sub)
    _add_index_commands(sub)
    _add_evaluation_commands(sub)
    _add_service_commands(sub)
    return p


def _add_text_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """clauses, show, ask: the texts and answers."""
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


def _add_index_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """index build | status | eval | calibrate."""
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


def _add_evaluation_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """eval (question files) and bank check (a trainer's question bank)."""
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


def _add_service_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """bench and serve."""
    s = sub.add_parser("bench", help="speed and memory: cold start, warm p50/p95/max, peak RSS, rules alone")
    s.add_argument("--questions", nargs="+", default=None, help="question files (default: the project's eval/)")
    s.add_argument("--evaluations", type=int, default=10_000, help="rule evaluations for the memory check")
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("serve", help="the HTTP API (FastAPI + uvicorn)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1,
                   help="worker processes, each with its own engine (about 200 MB each; one per core)")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("store", help="the feedback and question store (GPSKB_STORE)")
    ssub = s.add_subparsers(dest="store_command", metavar="ACTION")
    b = ssub.add_parser("purge", help="delete logged questions and feedback older than the retention period now")
    b.add_argument("--days", type=int, default=None,
                   help="keep only this many days (fewer than GPSKB_RETENTION_DAYS; 0 deletes every question and feedback)")
    b.set_defaults(func=cmd_store_purge)
    store_parser = s
    s.set_defaults(func=functools.partial(_print_help, store_parser))


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
        print_error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
