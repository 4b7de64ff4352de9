"""The PostgreSQL history store (one binary COPY per group) against a real PostgreSQL."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import create_engine, session_scope
from backend.locations.fix import DriverRef, Fix, Source
from backend.locations.history import create_store
from backend.locations.history_postgres import CopyStore
from backend.migrate import upgrade
from backend.models import Driver, Organization, User
from shared.enums import Role

T0 = 1_764_950_000.25  # epoch seconds, with a fraction that must survive


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


async def a_driver(engine: AsyncEngine) -> DriverRef:
    async with session_scope(engine) as session:
        org = Organization(slug="o", name="O")
        session.add(org)
        await session.flush()
        assert org.id is not None
        user = User(org_id=org.id, email="d@o.test", role=Role.DRIVER, password_hash="x")
        session.add(user)
        await session.flush()
        driver = Driver(org_id=org.id, user_id=user.id, name="D")
        session.add(driver)
        await session.flush()
        assert driver.id is not None
        return DriverRef(org.id, driver.id)


async def stored(engine: AsyncEngine) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT driver_id, recorded_at, received_at, lat, lng, speed_mps, heading_deg,"
                " accuracy_m, altitude_m, battery, source FROM location_fixes ORDER BY recorded_at"
            )
        )
        return [tuple(row) for row in rows]


async def test_every_field_of_every_group_is_stored(engine: AsyncEngine, postgres_url: str) -> None:
    store = create_store(postgres_url, engine)
    assert isinstance(store, CopyStore)
    driver = await a_driver(engine)
    full = Fix(43.73, 7.42, T0, T0 + 1.5, 4.5, 271.0, 8, 55.5, 80, Source.OSMAND)
    bare = Fix(43.74, 7.43, T0 + 10, T0 + 11)

    await store.insert([(driver, [full]), (driver, [bare])])

    at = datetime.fromtimestamp
    assert await stored(engine) == [
        (driver.driver_id, at(T0, UTC), at(T0 + 1.5, UTC), 43.73, 7.42, 4.5, 271.0, 8, 55.5, 80,
         "osmand"),
        (driver.driver_id, at(T0 + 10, UTC), at(T0 + 11, UTC), 43.74, 7.43, None, None, None,
         None, None, "app"),
    ]  # fmt: skip


async def test_a_group_is_stored_whole_or_not_at_all(engine: AsyncEngine) -> None:
    store = CopyStore(engine)
    driver = await a_driver(engine)
    gone = DriverRef(driver.org_id, driver.driver_id + 1000)  # no such driver: a foreign key fails
    fix = Fix(43.73, 7.42, T0, T0)

    with pytest.raises(Exception, match="foreign key"):
        await store.insert([(driver, [fix]), (gone, [fix._replace(recorded_at=T0 + 1)])])

    assert await stored(engine) == []
    await store.insert([(driver, [fix])])  # the connection is fine for the next group
    assert len(await stored(engine)) == 1
