"""Planning jobs in the database, where every worker reads them.

Each write that changes a job is a conditional update on its status, so the row decides
races between workers: the solving worker's heartbeat only lands while the job is still
queued or running (a cancel from any worker, or a reader that found the worker dead,
makes it miss, and the solver stops), and its result only lands on a running job (in the
transaction that saves the draft routes, so a cancelled plan leaves no drafts behind).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import session_scope
from backend.errors import NotFoundError
from backend.models import OptimizationJob
from backend.optimization.worker import Best
from shared.schemas.optimization import (
    BestSoFar,
    OptimizationCreate,
    OptimizationOut,
    OptimizationStatus,
    UnassignedOrder,
)

S = OptimizationStatus
_JOB_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex
ACTIVE = (S.QUEUED, S.RUNNING)
FINISHED = frozenset({S.DONE, S.FAILED, S.CANCELLED})
WORKER_GONE = (
    "the server running this plan stopped (a restart or a crash) before it finished; "
    "start the plan again"
)


@dataclass(frozen=True, slots=True)
class PlanningJob:
    """A planning job as stored: what the API shows, compares and publishes."""

    id: str
    org_id: int
    body: OptimizationCreate
    status: OptimizationStatus
    percent: int
    best: Best | None
    order_count: int
    driver_count: int
    engine: str | None
    route_ids: list[int]
    unassigned: list[tuple[int, str]]
    error: str | None
    created_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: OptimizationJob) -> "PlanningJob":
        best = (
            Best(row.best_drive_s, row.best_distance_m, row.best_served)
            if row.best_drive_s is not None
            and row.best_distance_m is not None
            and row.best_served is not None
            else None
        )
        return cls(
            id=row.id,
            org_id=row.org_id,
            body=OptimizationCreate.model_validate(row.request),
            status=S(row.status),
            percent=row.percent,
            best=best,
            order_count=row.order_count,
            driver_count=row.driver_count,
            engine=row.engine,
            route_ids=list(row.route_ids),
            unassigned=[(int(o), str(r)) for o, r in row.unassigned],
            error=row.error,
            created_at=row.created_at,
            heartbeat_at=row.heartbeat_at,
            finished_at=row.finished_at,
        )

    def stale(self, now: datetime, after: timedelta) -> bool:
        """Queued or running, but its worker has written nothing for ``after``."""
        return self.status in ACTIVE and now - self.heartbeat_at > after

    def out(self) -> OptimizationOut:
        percent = {S.DONE: 100, S.RUNNING: min(99, self.percent)}.get(self.status, 0)
        best = self.best
        return OptimizationOut(
            id=self.id,
            status=self.status,
            percent=percent,
            best=BestSoFar(drive_s=best.drive_s, distance_m=best.distance_m, served=best.served)
            if best
            else None,
            order_count=self.order_count,
            driver_count=self.driver_count,
            engine=self.engine,
            route_ids=self.route_ids,
            unassigned=[UnassignedOrder(order_id=o, reason=r) for o, r in self.unassigned],
            error=self.error,
            created_at=self.created_at,
            finished_at=self.finished_at,
        )


def new_row(
    job_id: str,
    org_id: int,
    user_id: int,
    body: OptimizationCreate,
    counts: tuple[int, int],
    now: datetime,
) -> OptimizationJob:
    return OptimizationJob(
        id=job_id,
        org_id=org_id,
        requested_by=user_id,
        service_date=body.service_date,
        request=body.model_dump(mode="json"),
        order_count=counts[0],
        driver_count=counts[1],
        created_at=now,
        heartbeat_at=now,
    )


async def insert(engine: AsyncEngine, row: OptimizationJob) -> PlanningJob:
    async with session_scope(engine) as session:
        session.add(row)
    return PlanningJob.of(row)


async def load(engine: AsyncEngine, org_id: int, job_id: str) -> PlanningJob:
    if not _JOB_ID.fullmatch(job_id):  # not one of ours: no need to ask the database
        raise NotFoundError(f"optimization {job_id[:40]} not found")
    async with session_scope(engine) as session:
        row = await session.get(OptimizationJob, job_id)
        if row is None or row.org_id != org_id:
            raise NotFoundError(f"optimization {job_id} not found")
        return PlanningJob.of(row)


def _best(best: Best | None) -> dict[str, Any]:
    if best is None:
        return {}
    return {
        "best_drive_s": best.drive_s,
        "best_distance_m": best.distance_m,
        "best_served": best.served,
    }


async def _set(
    engine: AsyncEngine, job_id: str, only_if: tuple[OptimizationStatus, ...], **values: Any
) -> bool:
    async with session_scope(engine) as session:
        return await _set_in(session, job_id, only_if, **values)


async def _set_in(
    session: AsyncSession,
    job_id: str,
    only_if: tuple[OptimizationStatus, ...],
    **values: Any,
) -> bool:
    result = await session.exec(
        update(OptimizationJob)
        .where(col(OptimizationJob.id) == job_id, col(OptimizationJob.status).in_(only_if))
        .values(**values)
    )
    return bool(result.rowcount == 1)


async def beat(
    engine: AsyncEngine,
    job_id: str,
    status: OptimizationStatus,
    percent: int,
    best: Best | None,
    now: datetime,
) -> bool:
    """The solving worker's progress and heartbeat; False: the job is not active any more
    (cancelled, or failed by a reader), so the worker stops."""
    return await _set(
        engine, job_id, ACTIVE, status=status, percent=percent, heartbeat_at=now, **_best(best)
    )


async def finish_done(
    session: AsyncSession,
    job_id: str,
    best: Best,
    engine_name: str,
    route_ids: list[int],
    unassigned: list[tuple[int, str]],
    now: datetime,
) -> bool:
    """In the transaction that saved the drafts: only a running job becomes done."""
    return await _set_in(
        session,
        job_id,
        (S.RUNNING,),
        status=S.DONE,
        percent=100,
        engine=engine_name,
        route_ids=route_ids,
        unassigned=[list(u) for u in unassigned],
        finished_at=now,
        heartbeat_at=now,
        **_best(best),
    )


async def end(
    engine: AsyncEngine, job_id: str, status: OptimizationStatus, error: str | None, now: datetime
) -> bool:
    """Fail or cancel a job still queued or running; whether it was."""
    return await _set(
        engine, job_id, ACTIVE, status=status, error=error and error[:500], finished_at=now
    )


async def fail_if_stale(engine: AsyncEngine, job: PlanningJob, now: datetime) -> bool:
    """Fail ``job`` as its worker gone, unless its worker wrote since it was read."""
    async with session_scope(engine) as session:
        result = await session.exec(
            update(OptimizationJob)
            .where(
                col(OptimizationJob.id) == job.id,
                col(OptimizationJob.status).in_(ACTIVE),
                col(OptimizationJob.heartbeat_at) == job.heartbeat_at,
            )
            .values(status=S.FAILED, error=WORKER_GONE, finished_at=now)
        )
        return bool(result.rowcount == 1)


async def forget_before(engine: AsyncEngine, org_id: int, before: datetime) -> None:
    """Drop ``org_id``'s jobs that finished before ``before`` (their drafts stay routes)."""
    async with session_scope(engine) as session:
        await session.exec(
            delete(OptimizationJob).where(
                col(OptimizationJob.org_id) == org_id,
                col(OptimizationJob.finished_at) < before,
            )
        )


def lease_key(org_id: int, day: date) -> str:
    """Held by the job planning ``org_id``'s ``day``: one solve of a day at a time."""
    return f"lastmile:job:optimization:{org_id}:{day.isoformat()}"
