"""The `motcua` command line: one console script, one module per group of subcommands.

Each module in `COMMAND_MODULES` defines `register(subparsers)`, which adds its subcommands and sets
`func=<callable(args, settings) -> int>` on each; the callable returns the process exit code.
Only this entry point reads the environment (through `Settings()`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot.settings import Settings

COMMAND_MODULES = [
    "bot.cli.serve",
    "bot.cli.db",
    "bot.cli.dossiers",
    "bot.cli.kb",
    "bot.cli.chat",
    "bot.cli.telegram",
    "bot.cli.recipients",
    "bot.cli.jobs",
    "bot.cli.report",
]


# Commands whose log lines are their output (the long-running service, the scheduled jobs).
LOGGING_COMMANDS = frozenset({"serve", "jobs"})


def create_parser() -> argparse.ArgumentParser:
    """Build the argument parser from every command module that is present."""
    parser = argparse.ArgumentParser(prog="motcua", description="Trợ lý hành chính công (motcua-bot)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # the module is not written yet; its commands are simply absent
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `motcua` console script."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8")
    parser = create_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:  # a setting in the environment or .env is wrong: say which, no traceback
        print("motcua: the configuration is not valid:", file=sys.stderr)
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]).upper()
            print(f"  {name}: {error['msg']}", file=sys.stderr)
        return 2
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    if args.command not in LOGGING_COMMANDS and "log_level" not in settings.model_fields_set:
        # A command that prints its own output (a key, a chat, a report) shows warnings and errors only,
        # unless LOG_LEVEL asks for more; the service and the jobs log at LOG_LEVEL (INFO by default).
        level = max(level, logging.WARNING)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    result: int = args.func(args, settings)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
