"""Planning jobs: load → road matrix → solve in a child process (progress, cancellable) →
draft routes. Jobs live in this process's memory (a restart forgets running ones; the draft
routes a finished job saved are in the database)."""

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.principal import Principal
from backend.db import session_scope
from backend.errors import BadRequestError, ConflictError, NotFoundError
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
from shared.schemas.optimization import (
    BestSoFar,
    OptimizationCreate,
    OptimizationOut,
    OptimizationStatus,
    UnassignedOrder,
)

log = logging.getLogger(__name__)
S = OptimizationStatus
FINISHED = frozenset({S.DONE, S.FAILED, S.CANCELLED})


@dataclass(slots=True)
class PlanningJob:
    id: str
    principal: Principal
    body: OptimizationCreate
    order_count: int
    driver_count: int
    status: OptimizationStatus = S.QUEUED
    best: Best | None = None
    engine: str | None = None
    route_ids: list[int] = field(default_factory=list)
    unassigned: list[tuple[int, str]] = field(default_factory=list)
    error: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    run: SolveRun | None = None
    task: asyncio.Task[None] | None = None

    def out(self) -> OptimizationOut:
        if self.status is S.DONE:
            percent = 100
        elif self.status is S.RUNNING and self.run is not None:
            percent = self.run.percent
        else:
            percent = 0
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


class Planner:
    """The running and recent planning jobs of this process; one solve at a time."""

    def __init__(
        self,
        engine: AsyncEngine,
        routing: RoadRouter,
        keep: int = 200,
        default_engine: Engine = "auto",
    ) -> None:
        self._engine = engine
        self._default_engine = default_engine
        self._routing = routing
        self._jobs: dict[str, PlanningJob] = {}
        self._keep = keep
        self._slot = asyncio.Semaphore(1)  # a solve uses a core for its whole budget

    async def start(self, principal: Principal, body: OptimizationCreate) -> PlanningJob:
        """Check and load the request (a bad one is a 4xx here), then plan in the background."""
        async with session_scope(self._engine) as session:
            orders = await load_orders(session, principal.org_id, body)
            drivers = await load_drivers(session, principal.org_id, body)
        if not orders:
            raise BadRequestError("nothing to plan: no unassigned orders off routes")
        job = PlanningJob(uuid.uuid4().hex, principal, body, len(orders), len(drivers))
        self._jobs[job.id] = job
        self._forget_old()
        job.task = asyncio.create_task(self._run(job, orders, drivers), name=f"plan-{job.id}")
        return job

    def get(self, org_id: int, job_id: str) -> PlanningJob:
        job = self._jobs.get(job_id)
        if job is None or job.principal.org_id != org_id:
            raise NotFoundError(f"optimization {job_id} not found")
        return job

    def cancel(self, org_id: int, job_id: str) -> PlanningJob:
        job = self.get(org_id, job_id)
        if job.status in FINISHED:
            raise ConflictError(f"optimization {job_id} is already {job.status}")
        job.status = S.CANCELLED
        job.finished_at = datetime.now(UTC)
        if job.run is not None:
            job.run.cancel()
        if job.task is not None:
            job.task.cancel()
        return job

    async def close(self) -> None:
        for job in list(self._jobs.values()):
            if job.task is not None and not job.task.done():
                job.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await job.task

    async def _run(
        self, job: PlanningJob, orders: list[OrderInput], drivers: list[DriverInput]
    ) -> None:
        try:
            async with self._slot:
                job.status = S.RUNNING
                await self._plan(job, orders, drivers)
            job.status = S.DONE
        except asyncio.CancelledError:
            job.status = S.CANCELLED
        except Exception as exc:
            log.exception("optimization %s failed", job.id)
            job.status, job.error = S.FAILED, str(exc) or type(exc).__name__
        finally:
            if job.run is not None:
                await job.run.close()
            job.finished_at = job.finished_at or datetime.now(UTC)

    async def _plan(
        self, job: PlanningJob, orders: list[OrderInput], drivers: list[DriverInput]
    ) -> None:
        body = job.body
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
        job.run = SolveRun(built.problem, body.time_budget_s, engine=chosen)
        solution: Solution | None = None
        async for event in job.run.events():
            if isinstance(event, Best):
                job.best = event
            else:
                solution = event
        assert solution is not None
        served = sum(1 for r in solution.routes for s in r.stops if s.kind is StopKind.DELIVERY)
        job.best = Best(solution.drive_s, solution.distance_m, served)
        plan = drafts(built, solution, drivers)
        async with session_scope(self._engine) as session:
            job.route_ids = await save_drafts(session, job.principal, body.service_date, plan)
        job.engine = solution.engine
        job.unassigned = [(order_id, why.value) for order_id, why in plan.unassigned]

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.status in FINISHED]
        for job in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job.id]
