"""A PostgreSQL database with PostGIS, built by the migrations, and a way for Hypothesis
(which runs test bodies synchronously) to run database work on the session's event loop."""

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import create_engine
from backend.migrate import downgrade, upgrade
from backend.spatial.postgis import postgis_version, spatial_path
from tests.conftest import require
from tests.postgres_server import PostgresServer

type Run = Callable[[Coroutine[Any, Any, Any]], Any]


@dataclass(frozen=True)
class PostgisDb:
    engine: AsyncEngine
    run: Run  # from a worker thread: runs a coroutine on the test's event loop, returns its result


@pytest.fixture
async def postgis_db(postgres: PostgresServer) -> AsyncIterator[PostgisDb]:
    """A fresh database on the session's PostgreSQL, migrated: migration 0020 creates the
    extension (fails in CI, skips locally, when the PostGIS packages are missing)."""
    engine = create_engine(postgres.create_database("postgis"))
    try:
        await upgrade(engine)
        # Down past 0020 and up again: the migration itself creates the extension (the
        # test server's template already has it, when installed).
        await downgrade(engine, "0019")
        assert await postgis_version(engine) is None
        await upgrade(engine)
        require(
            await postgis_version(engine) is not None,
            "PostGIS not installed for this PostgreSQL (Debian package postgresql-15-postgis-3);"
            " scripts/system-deps installs it (as root)",
        )
        assert await spatial_path(engine) == "postgis"
        loop = asyncio.get_running_loop()

        def run(coro: Coroutine[Any, Any, Any]) -> Any:
            return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

        yield PostgisDb(engine, run)
    finally:
        await engine.dispose()
