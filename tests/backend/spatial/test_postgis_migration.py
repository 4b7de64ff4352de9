"""Migration 0020 on a PostgreSQL role that may not create PostGIS (not a superuser): the
migrations still go to the end, with a warning saying what to do, and the backend stays on
the Python path."""

import logging
import uuid

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from backend.db import create_engine
from backend.migrate import alembic_config, upgrade
from backend.spatial.postgis import postgis_version, spatial_path
from tests.postgres_server import PostgresServer


async def test_a_role_that_may_not_create_postgis_still_migrates(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"plain_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres.url("postgres")).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f"CREATE ROLE {name} LOGIN NOSUPERUSER"))
            # From template0: no PostGIS in it, whatever the test server's template1 has.
            await conn.execute(text(f"CREATE DATABASE {name} OWNER {name} TEMPLATE template0"))
            installed = await conn.scalar(
                text("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")
            )
    finally:
        await admin.dispose()
    engine = create_engine(postgres.url(name).replace("lastmile@", f"{name}@"))
    try:
        with caplog.at_level(logging.WARNING):
            await upgrade(engine)
        async with engine.connect() as conn:
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert await postgis_version(engine) is None
        assert await spatial_path(engine) == "python"
        # With the packages on the server, the warning says how to get PostGIS anyway.
        assert ("CREATE EXTENSION postgis;" in caplog.text) == bool(installed)
    finally:
        await engine.dispose()
