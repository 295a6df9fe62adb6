"""`motcua ask` and `motcua kb check|import` (the lead adds `kb sync` to `KB_COMMANDS`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import load_knowledge
from bot.cli.kbsync import register_sync
from bot.settings import Settings
from knowledge import KnowledgeBase, KnowledgeBaseError, Matcher, load_knowledge_base
from knowledge.conversation import Conversation
from knowledge.families import check_families, load_families
from knowledge.importer import import_procedures
from knowledge.loader import BUNDLED_PATH
from knowledge.review import check as check_currency
from knowledge.review import review

SubParsers = Any  # argparse's _SubParsersAction is private


def create_matcher(settings: Settings) -> Matcher:
    """Load the configured knowledge base and build the matcher (raises `KnowledgeBaseError`)."""
    return load_knowledge(settings)[1]


def _print_problems(error: KnowledgeBaseError) -> None:
    for problem in error.problems:
        print(f"{problem.file}: {problem.field or '-'}: {problem.reason}")
    print(f"{len(error.problems)} problem(s); see knowledge/FORMAT.md")


# --- motcua ask ---------------------------------------------------------------------------------------


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    try:
        matcher = create_matcher(settings)
    except KnowledgeBaseError as error:
        _print_problems(error)
        return 1
    if args.question is not None:
        answer = matcher.ask(args.question)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            print(answer.text)
            for label, payload in answer.buttons:
                print(f"  [{label}] {payload}")
        return 0
    sessions: dict[str, Conversation | None] = {}
    for line in sys.stdin:
        question, session = _stdin_line(line)
        if not question:
            continue
        if session is None:
            answer = matcher.ask(question)
        else:  # the lines of one session share the conversation, as one chat would
            answer = matcher.ask(question, sessions.get(session))
            sessions[session] = answer.context
        print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
    return 0


def _stdin_line(line: str) -> tuple[str, str | None]:
    """(question, session) of a stdin line: a JSON object `{"session", "query"}` belongs to its session; any
    other line is one question on its own."""
    text = line.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return text, None
        if isinstance(data, dict) and isinstance(data.get("query"), str):
            session = data.get("session")
            return data["query"].strip(), str(session) if session is not None else None
    return text, None


def _register_ask(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "ask",
        help="answer one question from the knowledge base",
        description=(
            "Answer a question; with no question, read one per line from stdin and write JSON lines. A line "
            'that is a JSON object {"session": ID, "query": TEXT} shares the conversation with the other lines '
            "of its session, as one chat would."
        ),
    )
    parser.add_argument("question", nargs="?", help="the question (omit to read questions from stdin)")
    parser.add_argument("--json", action="store_true", help="print the answer as a JSON object")
    parser.set_defaults(func=_ask)


# --- motcua kb check ------------------------------------------------------------------------------------


def _summary(kb: KnowledgeBase) -> list[str]:
    counts = Counter(procedure.department for procedure in kb.procedures)
    lines = [
        f"Knowledge base OK: {kb.path}",
        f"{len(kb.procedures)} procedures, {len(kb.general)} general entries, {len(kb.departments)} departments",
    ]
    width = max((len(d.name) for d in kb.departments), default=0)
    lines += [f"  {d.name.ljust(width)}  {counts.get(d.id, 0):4d}" for d in kb.departments]
    return lines


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _print_review(kb: KnowledgeBase) -> None:
    listed = review(kb)
    print()
    print(f"To confirm ({sum(len(items) for _, items in listed)} item(s) in {len(listed)} procedure(s)):")
    for procedure, items in listed:
        print(f"{procedure.id} — {procedure.title}")
        for item in items:
            print(f"  [{item.field}] {item.message}")


def _check(args: argparse.Namespace, settings: Settings) -> int:
    path = args.path or settings.knowledge_base_path
    try:
        kb = load_knowledge_base(path)
    except KnowledgeBaseError as error:
        _print_problems(error)
        return 1
    family_problems, family_notes = check_families(kb)
    if family_problems:
        _print_problems(KnowledgeBaseError(family_problems))
        return 1
    today = args.today or datetime.now(ZoneInfo(settings.timezone)).date()
    findings = check_currency(kb, today)
    errors = [finding for finding in findings if finding.level == "error"]
    for finding in findings:
        print(f"{finding.level.upper()}: {finding}")
    if errors:
        print(f"{len(errors)} error(s) on {today:%d/%m/%Y}; see knowledge/FORMAT.md ('Sourced, dated facts')")
    else:
        print("\n".join(_summary(kb)))
        print("\n".join([f"{len(load_families(kb).families)} families of sibling procedures", *family_notes]))
        warnings = len(findings) - len(errors)
        print(f"Facts checked for {today:%d/%m/%Y}: 0 errors, {warnings} warning(s)")
    if args.review:
        _print_review(kb)
    return 1 if errors else 0


def _register_check(kb_sub: SubParsers) -> None:
    parser = kb_sub.add_parser(
        "check",
        help="validate the knowledge base: format, replaced documents cited, facts not verified for 6 months",
    )
    parser.add_argument("--path", type=Path, default=None, help="knowledge base directory (default: configured)")
    parser.add_argument(
        "--review", action="store_true", help="also list what officers must confirm (editorial notes, facts)"
    )
    parser.add_argument(
        "--today", type=_day, default=None, help="check the facts as on this day, YYYY-MM-DD (default: today)"
    )
    parser.set_defaults(func=_check)


# --- motcua kb import -----------------------------------------------------------------------------------


def _import(args: argparse.Namespace, settings: Settings) -> int:
    target = args.out or settings.knowledge_base_path or BUNDLED_PATH
    if not args.file.is_file():
        print(f"{args.file}: file not found", file=sys.stderr)
        return 1
    try:
        result = import_procedures(args.file, target)
    except (ValueError, OSError) as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        return 1
    except KnowledgeBaseError as error:
        _print_problems(error)
        return 1
    for procedure_id, path, status in result.written:
        print(f"{status}: {procedure_id} ({path})")
    for problem in result.problems:
        print(f"{args.file.name}: {problem}")
    bad_rows = len({problem.row for problem in result.problems})
    print(f"{len(result.written)} procedure(s) written to {Path(target) / 'procedures'}, {bad_rows} row(s) refused")
    return 1 if result.problems else 0


def _register_import(kb_sub: SubParsers) -> None:
    parser = kb_sub.add_parser(
        "import",
        help="import procedures from a CSV/XLSX file (columns: knowledge/FORMAT.md, 'Import columns')",
    )
    parser.add_argument("file", type=Path, help="CSV or XLSX file, one row per procedure")
    parser.add_argument("--out", type=Path, default=None, help="knowledge base directory to write into")
    parser.set_defaults(func=_import)


# Subcommands of `motcua kb`, in help order. `kb sync` is added by appending its `_register_sync`.
KB_COMMANDS: list[Callable[[SubParsers], None]] = [_register_check, _register_import, register_sync]


def register(sub: SubParsers) -> None:
    """Add `ask` and the `kb` group to the `motcua` parser."""
    _register_ask(sub)
    kb = sub.add_parser("kb", help="knowledge base: check, import (and sync)")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    kb_sub.required = True
    for register_command in KB_COMMANDS:
        register_command(kb_sub)


__all__ = ["KB_COMMANDS", "create_matcher", "register"]
