"""The demo seed on a real, migrated database: what it makes, once, and once a day."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from backend.db import create_engine, session_scope
from backend.demo.seed import DemoLogins, seed_demo
from backend.migrate import upgrade
from backend.models import Depot, Driver, Order, Route, Stop, User, Vehicle
from tests.conftest import make_settings

NOW = datetime(2026, 12, 6, 9, 20, tzinfo=UTC)


async def test_seed_makes_the_fleet_once_and_each_days_orders_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)

        async def seed(now: datetime) -> DemoLogins:
            async with session_scope(engine) as session:
                return await seed_demo(session, settings, now=now)

        async def count(model: type, *where: object) -> int:
            async with session_scope(engine) as session:
                query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
                return int((await session.exec(query)).one())

        first = await seed(NOW)
        assert first.orders_added == 150
        assert first.drivers[0] == "driver1@demo.lastmile.test"
        assert len(first.drivers) == 12
        assert await count(Depot) == 1
        assert await count(Driver) == 12
        assert await count(Vehicle) == 12
        assert await count(User) == 14  # admin, dispatcher, twelve drivers
        assert await count(Order) == 150
        assert await count(Route) == 0  # the optimiser plans the day, not the seed
        async with session_scope(engine) as session:
            drivers = (await session.exec(select(Driver))).all()
            vehicles = {v.id: v for v in (await session.exec(select(Vehicle))).all()}
            stops = (await session.exec(select(Stop))).all()
        assert {d.vehicle_id for d in drivers} == set(vehicles)
        assert {bool(v.skills) for v in vehicles.values()} == {True, False}
        assert all(s.window_start and s.window_start >= NOW for s in stops)
        assert all(s.window_end and s.window_end <= NOW + timedelta(hours=7) for s in stops)

        again = await seed(NOW + timedelta(hours=2))  # a restart the same day
        assert again.orders_added == 0
        assert await count(Order) == 150
        assert await count(Driver) == 12

        tomorrow = await seed(NOW + timedelta(days=1))  # data from yesterday: today's orders
        assert tomorrow.orders_added == 150
        assert await count(Order) == 300
        assert await count(Order, col(Order.reference).startswith("DEMO-261207-")) == 150
        assert await count(Driver) == 12
    finally:
        await engine.dispose()
