"""Migrations bring an empty database to head on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import create_engine
from storage.migrate import alembic_config, current_revision, upgrade
from storage.models import Base


async def test_upgrade_to_head_and_models_match(empty_database_url: str) -> None:
    raw_engine = create_engine(empty_database_url)
    try:
        await _check(raw_engine)
    finally:
        await raw_engine.dispose()


async def _check(raw_engine: Any) -> None:
    assert await current_revision(raw_engine) is None
    await upgrade(raw_engine)
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    assert len(heads) == 1, f"several migration heads: {heads}"
    assert await current_revision(raw_engine) in heads
    # Running it again is a no-op.
    await upgrade(raw_engine)

    def diff(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": False})
        return list(compare_metadata(context, Base.metadata))

    async with raw_engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
