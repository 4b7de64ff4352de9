"""The location history on PostgreSQL: each group commit is one binary ``COPY`` (asyncpg).

SQLAlchemy's ``executemany`` of an ``INSERT`` spent about 1 ms of the event loop per group
on compiling, building a dict per row and binding each value (cProfile of a worker at
~9,000 fixes/s: a fifth of the loop). ``copy_records_to_table`` sends tuples in
PostgreSQL's binary format in one statement: the group is stored whole or not at all (a
statement outside an explicit transaction commits on its own), so an acknowledgement
still means the fixes are committed.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.locations.fix import DriverRef, Fix
from backend.locations.history_columns import COLUMNS, TABLE

Group = tuple[DriverRef, Sequence[Fix]]


def records(groups: Sequence[Group]) -> list[tuple[Any, ...]]:
    """One tuple per fix, in :data:`COLUMNS` order (times as aware UTC datetimes)."""
    at = datetime.fromtimestamp
    return [
        (
            driver.org_id,
            driver.driver_id,
            at(fix.recorded_at, UTC),
            at(fix.received_at, UTC),
            fix.lat,
            fix.lng,
            fix.speed_mps,
            fix.heading_deg,
            fix.accuracy_m,
            fix.altitude_m,
            fix.battery,
            fix.source.value,
        )
        for driver, fixes in groups
        for fix in fixes
    ]


class CopyStore:
    """:class:`backend.locations.history.HistoryStore` for ``postgresql+asyncpg`` URLs."""

    name = "postgresql-copy"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def insert(self, groups: Sequence[Group]) -> None:
        rows = records(groups)
        if not rows:
            return
        async with self._engine.connect() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                TABLE, records=rows, columns=COLUMNS
            )

    async def close(self) -> None:
        return None
