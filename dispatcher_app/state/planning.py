"""Plan the day: start an optimisation, follow its progress, publish the draft routes."""

import asyncio
from collections.abc import Callable
from datetime import date

import httpx

from app_kit.errors import failure_message
from app_kit.observable import Observable
from shared.api_client import ApiClient, ApiError
from shared.enums import RouteStatus
from shared.schemas.fleet import RouteUpdate
from shared.schemas.optimization import OptimizationCreate, OptimizationOut, OptimizationStatus

FINISHED = frozenset(
    {OptimizationStatus.DONE, OptimizationStatus.FAILED, OptimizationStatus.CANCELLED}
)
POLL_S = 0.5


def progress_text(job: OptimizationOut | None) -> str:
    """One line for the panel: where the plan is and how good it is so far."""
    if job is None:
        return "No plan yet"
    if job.status is OptimizationStatus.QUEUED:
        return "Waiting for the optimiser"
    if job.status is OptimizationStatus.FAILED:
        return f"Planning failed: {job.error or 'unknown error'}"
    if job.status is OptimizationStatus.CANCELLED:
        return "Planning cancelled"
    best = ""
    if job.best is not None:
        hours, minutes = divmod(round(job.best.drive_s / 60), 60)
        best = (
            f" · best so far: {job.best.served}/{job.order_count} orders, "
            f"{hours} h {minutes:02d} min driving, {job.best.distance_m / 1000:.1f} km"
        )
    if job.status is OptimizationStatus.RUNNING:
        return f"Planning… {job.percent} %{best}"
    left = f" · {len(job.unassigned)} left out" if job.unassigned else ""
    return f"{len(job.route_ids)} draft routes{best}{left}"


class PlanningState(Observable):
    """One planning job at a time, polled until it finishes."""

    def __init__(
        self,
        client: ApiClient,
        *,
        on_expired: Callable[[], None],
        poll_s: float = POLL_S,
    ) -> None:
        super().__init__()
        self._client = client
        self._on_expired = on_expired
        self._poll_s = poll_s
        self.clear()

    def clear(self) -> None:
        self.job: OptimizationOut | None = None
        self.error: str | None = None
        self.published = False
        self.notify()

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.status not in FINISHED

    @property
    def can_publish(self) -> bool:
        job = self.job
        return (
            job is not None
            and job.status is OptimizationStatus.DONE
            and bool(job.route_ids)
            and not self.published
        )

    @property
    def text(self) -> str:
        return self.error or progress_text(self.job)

    async def plan(self, service_date: date, time_budget_s: float = 10.0) -> None:
        """Start planning ``service_date`` and follow the job until it finishes."""
        self.error, self.published = None, False
        try:
            self.job = await self._client.start_optimization(
                OptimizationCreate(service_date=service_date, time_budget_s=time_budget_s)
            )
            self.notify()
            while self.job.status not in FINISHED:
                await asyncio.sleep(self._poll_s)
                self.job = await self._client.get_optimization(self.job.id)
                self.notify()
        except (ApiError, httpx.TransportError) as exc:
            self._fail(exc)

    async def cancel(self) -> None:
        if self.job is None or not self.running:
            return
        try:
            self.job = await self._client.cancel_optimization(self.job.id)
        except (ApiError, httpx.TransportError) as exc:
            self._fail(exc)
            return
        self.notify()

    async def publish(self) -> None:
        """Publish every draft route of the finished plan (drivers see them)."""
        if not self.can_publish or self.job is None:
            return
        try:
            for route_id in self.job.route_ids:
                await self._client.update_route(route_id, RouteUpdate(status=RouteStatus.PUBLISHED))
        except (ApiError, httpx.TransportError) as exc:
            self._fail(exc)
            return
        self.published = True
        self.notify()

    def _fail(self, exc: ApiError | httpx.TransportError) -> None:
        self.error = failure_message(exc, self._client.base_url, self._on_expired)
        self.notify()
