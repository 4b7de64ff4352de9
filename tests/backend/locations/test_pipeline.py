"""The pipeline against a real SQLite file, without HTTP: history, current, retention."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.db import create_engine
from backend.locations import history_columns
from backend.locations.fix import DriverRef, Fix
from backend.locations.history import SqliteStore
from backend.locations.history_read import fixes_between
from backend.locations.pipeline import Pipeline, build_pipeline
from backend.migrate import upgrade
from backend.models import LocationFix
from tests.conftest import make_settings, sqlite_only
from tests.factories import create_org_with_users

DAY = 86_400.0


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now


@dataclass
class Setup:
    pipeline: Pipeline
    clock: Clock
    driver: DriverRef
    path: Path


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    settings = make_settings(tmp_path)
    engine = create_engine(settings.resolved_database_url)
    await upgrade(engine)
    org_id, _, _, driver_ids = await create_org_with_users(settings)
    clock = Clock(1_900_000_000.0)
    pipeline = build_pipeline(settings, engine)
    pipeline._clock = clock
    await pipeline.start()
    try:
        yield Setup(pipeline, clock, DriverRef(org_id, driver_ids[0]), tmp_path / "lastmile.db")
    finally:
        await pipeline.stop()
        await engine.dispose()


def at(t: float, lat: float = 43.73, received: float | None = None) -> Fix:
    return Fix(lat=lat, lng=7.42, recorded_at=t, received_at=received or t, altitude_m=12.5)


async def history(s: Setup) -> list[Fix]:
    fixes, total = await fixes_between(
        s.pipeline.engine,
        s.driver.driver_id,
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        limit=10_000,
    )
    assert total == len(fixes)
    return fixes


async def test_accepted_fixes_are_in_history_when_ingest_returns(setup: Setup) -> None:
    now = setup.clock.now
    result = await setup.pipeline.ingest(setup.driver, [at(now - 3), at(now - 2), at(now - 1)])
    assert result.accepted == 3
    stored = await history(setup)
    assert [f.recorded_at for f in stored] == [now - 3, now - 2, now - 1]
    assert stored[0].altitude_m == 12.5
    current = setup.pipeline.current.get(setup.driver.driver_id)
    assert current is not None
    assert current.recorded_at == now - 1


async def test_replayed_older_fixes_go_to_history_but_not_current(setup: Setup) -> None:
    now = setup.clock.now
    await setup.pipeline.ingest(setup.driver, [at(now - 10)])
    replay = await setup.pipeline.ingest(setup.driver, [at(now - 50), at(now - 40)])
    assert (replay.accepted, replay.history_only) == (2, 2)
    current = setup.pipeline.current.get(setup.driver.driver_id)
    assert current is not None
    assert current.recorded_at == now - 10
    assert len(await history(setup)) == 3
    again = await setup.pipeline.ingest(setup.driver, [at(now - 50), at(now - 40)])
    assert again.accepted == 0
    assert {r.reason.value for r in again.rejected} == {"duplicate"}


async def test_range_query_is_half_open_and_ordered(setup: Setup) -> None:
    now = setup.clock.now
    await setup.pipeline.ingest(setup.driver, [at(now - t) for t in (5, 1, 3, 4, 2)])
    fixes, total = await fixes_between(
        setup.pipeline.engine,
        setup.driver.driver_id,
        datetime.fromtimestamp(now - 4, UTC),
        datetime.fromtimestamp(now - 2, UTC),
        limit=10,
    )
    assert [f.recorded_at for f in fixes] == [now - 4, now - 3]
    assert total == 2


async def test_retention_deletes_only_rows_older_than_the_setting(setup: Setup) -> None:
    now = setup.clock.now
    setup.clock.now = now - 8 * DAY  # received eight days ago
    await setup.pipeline.ingest(setup.driver, [at(now - 8 * DAY - 5), at(now - 8 * DAY - 4)])
    setup.clock.now = now - 6 * DAY
    await setup.pipeline.ingest(setup.driver, [at(now - 6 * DAY - 5)])
    setup.clock.now = now
    await setup.pipeline.ingest(setup.driver, [at(now - 1)])
    assert await setup.pipeline.prune() == 2
    assert [f.recorded_at for f in await history(setup)] == [now - 6 * DAY - 5, now - 1]
    assert setup.pipeline.metrics.get("history_rows_pruned") == 2


async def test_a_restarted_pipeline_warms_current_positions_from_history(setup: Setup) -> None:
    now = setup.clock.now
    await setup.pipeline.ingest(setup.driver, [at(now - 3), at(now - 2, lat=43.7301)])
    await setup.pipeline.ingest(setup.driver, [at(now - 9)])  # history only
    settings = make_settings(setup.path.parent)
    fresh = build_pipeline(settings, setup.pipeline.engine)
    await fresh.start()
    try:
        current = fresh.current.get(setup.driver.driver_id)
        assert current is not None
        assert (current.recorded_at, current.lat) == (now - 2, 43.7301)
        assert [p.driver for p in fresh.current.for_org(setup.driver.org_id)] == [setup.driver]
    finally:
        await fresh.stop()


async def test_rejections_are_counted_by_reason(setup: Setup) -> None:
    now = setup.clock.now
    zero = Fix(lat=0.0, lng=0.0, recorded_at=now, received_at=now)
    await setup.pipeline.ingest(setup.driver, [zero, at(now + 3600)])
    counts = setup.pipeline.metrics.snapshot()
    assert counts["rejected_zero"] == 1
    assert counts["rejected_future"] == 1
    assert counts["fixes_received"] == 2
    assert counts["fixes_accepted"] == 0


def test_the_writer_process_writes_every_column_of_the_history_table() -> None:
    table = LocationFix.__table__  # type: ignore[attr-defined]
    assert table.name == history_columns.TABLE
    assert set(history_columns.COLUMNS) == {c.name for c in table.columns} - {"id"}


def writer_process(s: Setup) -> asyncio.subprocess.Process:
    store = s.pipeline.writer.store
    assert isinstance(store, SqliteStore)
    assert store._process is not None
    return store._process


async def test_a_batch_that_cannot_be_stored_fails_alone_and_is_not_acknowledged(
    setup: Setup,
) -> None:
    now = setup.clock.now
    ghost = DriverRef(setup.driver.org_id, 987_654)  # deleted meanwhile: no such driver
    good, bad = await asyncio.gather(
        setup.pipeline.ingest(setup.driver, [at(now - 2), at(now - 1)]),
        setup.pipeline.ingest(ghost, [at(now - 2)]),
        return_exceptions=True,
    )
    assert not isinstance(good, BaseException)
    assert good.accepted == 2
    assert isinstance(bad, RuntimeError)
    assert "could not be written" in str(bad)
    assert [f.recorded_at for f in await history(setup)] == [now - 2, now - 1]
    assert setup.pipeline.metrics.get("history_write_failures") == 1
    # Its times were released: the same batch from the real driver is not a "duplicate".
    again = await setup.pipeline.ingest(setup.driver, [at(now - 0.5)])
    assert again.accepted == 1


@sqlite_only("the SQLite store's writer child process; PostgreSQL has none")
async def test_a_writer_process_that_died_is_started_again(setup: Setup) -> None:
    now = setup.clock.now
    await setup.pipeline.ingest(setup.driver, [at(now - 3)])
    first = writer_process(setup)
    first.kill()
    await first.wait()
    result = await setup.pipeline.ingest(setup.driver, [at(now - 2), at(now - 1)])
    assert result.accepted == 2
    assert writer_process(setup).pid != first.pid
    assert [f.recorded_at for f in await history(setup)] == [now - 3, now - 2, now - 1]


@sqlite_only("the SQLite store's writer child process; PostgreSQL has none")
async def test_stopping_the_pipeline_ends_the_writer_process(setup: Setup) -> None:
    now = setup.clock.now
    await setup.pipeline.ingest(setup.driver, [at(now - 1)])
    process = writer_process(setup)
    await setup.pipeline.stop()
    assert process.returncode == 0
    assert len(await history(setup)) == 1
