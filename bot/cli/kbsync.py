"""`motcua kb sync`: make the store's departments and procedures match the knowledge base."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.app import catalogue_specs
from bot.settings import Settings
from knowledge import KnowledgeBaseError, load_knowledge_base
from storage.catalogue import sync_catalogue
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade


def register_sync(kb_sub: Any) -> None:
    parser = kb_sub.add_parser(
        "sync", help="synchronise departments and procedures into the store (removed ones are deactivated)"
    )
    parser.set_defaults(func=run_sync)


def run_sync(args: argparse.Namespace, settings: Settings) -> int:
    try:
        kb = load_knowledge_base(settings.knowledge_base_path)
    except KnowledgeBaseError as error:
        for problem in error.problems:
            print(f"{problem.file}: {problem.field or '-'}: {problem.reason}", file=sys.stderr)
        print("knowledge base invalid: nothing synchronised (run `motcua kb check`)", file=sys.stderr)
        return 1

    async def go() -> str:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
            departments, procedures = catalogue_specs(kb)
            async with create_sessionmaker(engine).begin() as session:
                report = await sync_catalogue(session, departments, procedures)
            return report.summary()
        finally:
            await engine.dispose()

    print(f"synchronised: {asyncio.run(go())}")
    return 0
