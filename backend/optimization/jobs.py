"""Planning jobs: load → road matrix → solve in a child process (progress, cancellable) →
draft routes.

Jobs live in the database (``job_store``), so any worker answers for any job and a restart
forgets none. The worker that started a job solves it and writes its progress and a
heartbeat there once a second; a job whose worker died stops getting heartbeats and the
next reader fails it. One job per organisation and service date runs at a time, held by a
lease (``backend.coordination``: in Redis with several workers): a second request for the
same day while one plans it is refused (409) naming the job, so the dispatcher follows or
cancels that one instead of solving the same orders twice.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.principal import Principal
from backend.coordination import Leases
from backend.coordination.memory import MemoryLeases
from backend.db import session_scope
from backend.errors import BadRequestError, ConflictError
from backend.optimization import job_store as store
from backend.optimization.job_store import FINISHED, PlanningJob
from backend.optimization.plan import DriverInput, OrderInput, build, drafts
from backend.optimization.plan_io import (
    epoch_of,
    load_drivers,
    load_orders,
    road_matrix,
    save_drafts,
)
from backend.optimization.solution import Solution, StopKind
from backend.optimization.solver import Engine
from backend.optimization.worker import Best, SolveRun
from backend.routing.router import RoadRouter
from shared.schemas.optimization import OptimizationCreate, OptimizationStatus

__all__ = ["FINISHED", "Planner", "PlanningJob"]

log = logging.getLogger(__name__)
S = OptimizationStatus
KEEP_FINISHED = timedelta(days=30)  # finished jobs older than this are dropped


def _now() -> datetime:
    return datetime.now(UTC)


class _StoppedError(Exception):
    """The job's row is no longer active (cancelled, or failed by a reader)."""


@dataclass(slots=True)
class _Solving:
    """A job this worker runs: what its heartbeat writes."""

    id: str
    principal: Principal
    body: OptimizationCreate
    lease_key: str
    created_at: datetime
    status: OptimizationStatus = S.QUEUED
    best: Best | None = None
    run: SolveRun | None = None
    task: asyncio.Task[None] | None = None
    # Cancelled because this server shuts down (the job fails: start it again), not by a
    # cancel request (the row already says cancelled).
    shutdown: bool = False

    @property
    def percent(self) -> int:
        return self.run.percent if self.status is S.RUNNING and self.run is not None else 0


class Planner:
    """Starts, solves and answers for planning jobs; one solve at a time in this process."""

    def __init__(
        self,
        engine: AsyncEngine,
        routing: RoadRouter,
        leases: Leases | None = None,
        default_engine: Engine = "auto",
        on_finished: Callable[[float, str], None] | None = None,
        *,
        heartbeat_s: float = 1.0,
        stale_after_s: float = 15.0,
    ) -> None:
        self._engine = engine
        # Told each finished job's seconds from start to end and how it ended (metrics).
        self._on_finished = on_finished
        self._default_engine = default_engine
        self._routing = routing
        self._leases: Leases = leases or MemoryLeases()
        self._heartbeat_s = heartbeat_s  # progress writes: at most one a second
        self._stale_after = timedelta(seconds=stale_after_s)
        # The day's lease lapses this long after the last renewal when the worker dies.
        self._lease_s = max(3 * heartbeat_s, stale_after_s / 2)
        self._solving: dict[str, _Solving] = {}
        self._slot = asyncio.Semaphore(1)  # a solve uses a core for its whole budget

    async def start(self, principal: Principal, body: OptimizationCreate) -> PlanningJob:
        """Check and load the request (a bad one is a 4xx here), then plan in the background.
        409 while another job plans the same day."""
        async with session_scope(self._engine) as session:
            orders = await load_orders(session, principal.org_id, body)
            drivers = await load_drivers(session, principal.org_id, body)
        if not orders:
            raise BadRequestError("nothing to plan: no unassigned orders off routes")
        job_id = uuid.uuid4().hex
        key = store.lease_key(principal.org_id, body.service_date)
        while await self._leases.acquire(key, self._lease_s, token=job_id) is None:
            running = await self._leases.holder(key)
            if running is None:
                continue  # it ended between the two questions: take the day now
            raise ConflictError(
                f"optimization {running} is already planning {body.service_date}: "
                "follow it, or cancel it and start again",
                details={"optimization_id": running},
            )
        now = _now()
        try:
            await store.forget_before(self._engine, principal.org_id, now - KEEP_FINISHED)
            row = store.new_row(
                job_id, principal.org_id, principal.user_id, body, (len(orders), len(drivers)), now
            )
            job = await store.insert(self._engine, row)
        except BaseException:
            await self._leases.release(key, job_id)
            raise
        solving = _Solving(job_id, principal, body, key, now)
        self._solving[job_id] = solving
        solving.task = asyncio.create_task(
            self._run(solving, orders, drivers), name=f"plan-{job_id}"
        )
        return job

    async def get(self, org_id: int, job_id: str) -> PlanningJob:
        """The job as stored; one whose worker stopped writing is failed first."""
        job = await store.load(self._engine, org_id, job_id)
        now = _now()
        if job.stale(now, self._stale_after) and job.id not in self._solving:
            await store.fail_if_stale(self._engine, job, now)
            job = await store.load(self._engine, org_id, job_id)
        return job

    async def cancel(self, org_id: int, job_id: str) -> PlanningJob:
        """Cancel a queued or running job, whichever worker solves it: the row says so at
        once; its worker sees it at its next heartbeat (within a second) and stops."""
        job = await self.get(org_id, job_id)
        if job.status in FINISHED or not await store.end(
            self._engine, job.id, S.CANCELLED, None, _now()
        ):
            job = await store.load(self._engine, org_id, job_id)
            raise ConflictError(f"optimization {job_id} is already {job.status}")
        solving = self._solving.get(job_id)
        if solving is not None:
            self._stop(solving)
        return await store.load(self._engine, org_id, job_id)

    async def close(self) -> None:
        """Stop this worker's solves; their jobs end failed (start them again)."""
        for solving in list(self._solving.values()):
            solving.shutdown = True
            self._stop(solving)
            if solving.task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await solving.task

    @staticmethod
    def _stop(solving: _Solving) -> None:
        if solving.run is not None:
            solving.run.cancel()
        if solving.task is not None:
            solving.task.cancel()

    async def _beat(self, solving: _Solving) -> None:
        """Progress and heartbeat once a second; stops the solve when the row says so."""
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                active = await store.beat(
                    self._engine,
                    solving.id,
                    solving.status,
                    solving.percent,
                    solving.best,
                    _now(),
                )
                if not await self._leases.renew(solving.lease_key, solving.id, self._lease_s):
                    log.warning("optimization %s lost the lease of its day", solving.id)
            except Exception:  # the database or Redis briefly away: the next beat retries
                log.exception("optimization %s: heartbeat failed", solving.id)
                continue
            if not active:
                self._stop(solving)
                return

    async def _run(
        self, solving: _Solving, orders: list[OrderInput], drivers: list[DriverInput]
    ) -> None:
        beat = asyncio.create_task(self._beat(solving), name=f"plan-beat-{solving.id}")
        status, error = S.FAILED, None
        try:
            async with self._slot:
                solving.status = S.RUNNING
                if not await store.beat(self._engine, solving.id, S.RUNNING, 0, None, _now()):
                    raise _StoppedError
                await self._plan(solving, orders, drivers)
            status = S.DONE
        except (asyncio.CancelledError, _StoppedError):
            status = S.CANCELLED
            if solving.shutdown:
                status, error = S.FAILED, store.WORKER_GONE
        except Exception as exc:
            log.exception("optimization %s failed", solving.id)
            error = str(exc) or type(exc).__name__
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            if solving.run is not None:
                await solving.run.close()
            if error is not None:
                with contextlib.suppress(Exception):
                    await store.end(self._engine, solving.id, S.FAILED, error, _now())
            with contextlib.suppress(Exception):
                await self._leases.release(solving.lease_key, solving.id)
            self._solving.pop(solving.id, None)
            if self._on_finished is not None:
                took = (_now() - solving.created_at).total_seconds()
                self._on_finished(took, status.value)

    async def _plan(
        self, solving: _Solving, orders: list[OrderInput], drivers: list[DriverInput]
    ) -> None:
        body = solving.body
        matrix = partial(road_matrix, self._routing)
        built = await asyncio.to_thread(
            build,
            orders,
            drivers,
            matrix,
            epoch_of(body.service_date),
            minimise_vehicles=body.minimise_vehicles,
        )
        chosen: Engine = self._default_engine if body.engine == "auto" else body.engine
        solving.run = SolveRun(built.problem, body.time_budget_s, engine=chosen)
        solution: Solution | None = None
        async for event in solving.run.events():
            if isinstance(event, Best):
                solving.best = event
            else:
                solution = event
        assert solution is not None
        served = sum(1 for r in solution.routes for s in r.stops if s.kind is StopKind.DELIVERY)
        solving.best = Best(solution.drive_s, solution.distance_m, served)
        plan = drafts(built, solution, drivers)
        unassigned = [(order_id, why.value) for order_id, why in plan.unassigned]
        async with session_scope(self._engine) as session:
            route_ids = await save_drafts(session, solving.principal, body.service_date, plan)
            if not await store.finish_done(
                session, solving.id, solving.best, solution.engine, route_ids, unassigned, _now()
            ):
                raise _StoppedError  # cancelled meanwhile: the drafts roll back with it
