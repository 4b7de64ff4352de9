"""Alembic environment. Runs on SQLite and PostgreSQL from the same history.

The backend calls migrations with an open connection (``config.attributes['connection']``);
the ``alembic`` command line opens its own from ``DATABASE_URL`` or the default settings.
"""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import backend.models  # noqa: F401  (registers the tables)
from backend.spatial.postgis import include_object

target_metadata = SQLModel.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,  # not PostGIS's own tables
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    from backend.config import Settings
    from backend.db import create_engine

    engine = create_engine(Settings().resolved_database_url)
    async with engine.connect() as conn:
        await conn.run_sync(_configure)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run against a database")

existing = context.config.attributes.get("connection")
if existing is not None:
    _configure(existing)
else:
    asyncio.run(_run_with_own_engine())
