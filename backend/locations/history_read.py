"""Reading and pruning the location history (SQLAlchemy Core; SQLite and PostgreSQL)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.locations.fix import DriverRef, Fix, Source
from backend.locations.history import TABLE
from backend.models import Driver

C = TABLE.c


def _fix(row: Any) -> Fix:
    try:
        source = Source(row.source)
    except ValueError:
        source = Source.APP
    return Fix(
        lat=row.lat,
        lng=row.lng,
        recorded_at=row.recorded_at.timestamp(),
        received_at=row.received_at.timestamp(),
        speed_mps=row.speed_mps,
        heading_deg=row.heading_deg,
        accuracy_m=row.accuracy_m,
        altitude_m=row.altitude_m,
        battery=row.battery,
        source=source,
    )


async def fixes_between(
    engine: AsyncEngine,
    driver_id: int,
    start: datetime,
    end: datetime,
    *,
    limit: int,
    offset: int = 0,
) -> tuple[list[Fix], int]:
    """A driver's fixes with ``start <= recorded_at < end`` in time order, and their count.

    Both queries walk the (driver_id, recorded_at) index.
    """
    where = (C.driver_id == driver_id, C.recorded_at >= start, C.recorded_at < end)
    query = select(TABLE).where(*where).order_by(C.recorded_at, C.id).limit(limit).offset(offset)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
        total = (await conn.execute(select(func.count()).where(*where))).scalar_one()
    return [_fix(r) for r in rows], int(total)


async def delete_received_before(engine: AsyncEngine, cutoff: datetime, chunk: int = 5000) -> int:
    """Delete history received before ``cutoff`` in chunks of ``chunk`` rows; the count.

    Small transactions keep the write lock short, so ingest never waits long on SQLite.
    Walks the received_at index.
    """
    deleted = 0
    while True:
        ids = select(C.id).where(C.received_at < cutoff).limit(chunk).scalar_subquery()
        async with engine.begin() as conn:
            result = await conn.execute(delete(TABLE).where(C.id.in_(ids)))
        count = int(result.rowcount or 0)
        deleted += count
        if count < chunk:
            return deleted


async def latest_per_driver(engine: AsyncEngine) -> list[tuple[DriverRef, Fix]]:
    """Each driver's newest fix: one index probe per driver (fast with many fixes each)."""
    drivers = Driver.__table__  # type: ignore[attr-defined]
    out: list[tuple[DriverRef, Fix]] = []
    async with engine.connect() as conn:
        ids: Sequence[Any] = (await conn.execute(select(drivers.c.id, drivers.c.org_id))).all()
        for driver_id, org_id in ids:
            query = (
                select(TABLE)
                .where(C.driver_id == driver_id)
                .order_by(C.recorded_at.desc(), C.id.desc())
                .limit(1)
            )
            row = (await conn.execute(query)).first()
            if row is not None:
                out.append((DriverRef(org_id=org_id, driver_id=driver_id), _fix(row)))
    return out
