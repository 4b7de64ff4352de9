"""Claiming due outbox rows under a lease, and the backoff between attempts.

An outbox table has ``id``, ``status``, ``attempts``, ``next_attempt_at`` and
``claimed_until``. A worker *claims* a due row with a conditional update (``claimed_until``
in the future, ``attempts + 1``) before working on it, so two workers never send the same
row at once; it records the outcome with a second update guarded by its own claim
(``claimed_until`` unchanged). A worker that dies after claiming leaves a claim that lapses
after the lease: another worker takes the row then, nothing is lost.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col, select

from backend.db import session_scope

RETRY_CAP_S = 3600.0


class OutboxRow(Protocol):
    id: int | None
    attempts: int
    next_attempt_at: datetime
    claimed_until: datetime | None


def retry_delay_s(
    attempts: int, base_s: float, cap_s: float = RETRY_CAP_S, jitter: float = 0.0
) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1, 2...): ``base_s``
    doubling, at most ``cap_s``; ``jitter`` in [-1, 1] moves it by up to ±20 % so that
    rows that failed together (a receiver down) do not all come back at once."""
    delay = min(cap_s, base_s * 2 ** max(0, attempts - 1))
    return float(delay * (1.0 + 0.2 * max(-1.0, min(1.0, jitter))))


async def claim_due[M: SQLModel](
    engine: AsyncEngine,
    model: type[M],
    pending: StrEnum,
    now: datetime,
    lease: timedelta,
    batch: int,
) -> list[M]:
    """Claim up to ``batch`` rows of ``model`` in status ``pending`` that are due at
    ``now`` and held by nobody; the rows as claimed (``attempts`` already counted)."""
    table: Any = model
    until = now + lease
    free = or_(col(table.claimed_until).is_(None), col(table.claimed_until) < now)
    async with session_scope(engine) as session:
        due = (
            await session.exec(
                select(table.id)
                .where(table.status == pending, table.next_attempt_at <= now)
                .where(free)
                .order_by(col(table.next_attempt_at), col(table.id))
                .limit(batch)
            )
        ).all()
        mine: list[int] = []
        for row_id in due:
            result = await session.exec(
                update(table)
                .where(col(table.id) == row_id, col(table.status) == pending)
                .where(free)
                .values(claimed_until=until, attempts=col(table.attempts) + 1)
            )
            if result.rowcount == 1:
                mine.append(row_id)
        if not mine:
            return []
        rows = await session.exec(
            select(table).where(col(table.id).in_(mine)).order_by(col(table.id))
        )
        return list(rows.all())


async def settle[M: SQLModel](
    engine: AsyncEngine, model: type[M], row: OutboxRow, values: dict[str, Any]
) -> bool:
    """Record the outcome of a claimed ``row``, only if the claim is still this worker's
    (``claimed_until`` as claimed); whether it was."""
    table: Any = model
    async with session_scope(engine) as session:
        result = await session.exec(
            update(table)
            .where(col(table.id) == row.id, col(table.claimed_until) == row.claimed_until)
            .values(**values)
        )
        return bool(result.rowcount == 1)
