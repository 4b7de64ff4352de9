"""The Alembic history builds exactly the tables the models describe, and unwinds cleanly."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import backend.models  # noqa: F401  (registers the tables)
from backend.db import create_engine
from backend.migrate import downgrade, upgrade
from backend.spatial.postgis import include_object


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": include_object}
    )
    return list(compare_metadata(context, SQLModel.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def check_history(url: str) -> None:
    """Upgrade to head (the tables are the models'), again (nothing changes), down to base
    (nothing left) and up again, on the database at ``url``."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            assert set(SQLModel.metadata.tables) <= await conn.run_sync(_tables)
        await upgrade(engine)  # idempotent: a second start changes nothing
        await downgrade(engine, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) <= {"alembic_version"}
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_upgrade_matches_models_and_downgrade_unwinds(tmp_path: Path) -> None:
    await check_history(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
