"""Plan the day: start an optimisation, follow its progress, compare the finished plan with
the day's current one, publish its draft routes."""

import asyncio
import os
from collections.abc import Callable
from datetime import date

import httpx

from app_kit.errors import failure_message
from app_kit.observable import Observable
from dispatcher_app.logic.planning import (
    best_text,
    budget_seconds,
    progress_fraction,
    progress_text,
    status_text,
)
from shared.api_client import ApiClient, ApiError
from shared.schemas.optimization import (
    OptimizationComparison,
    OptimizationCreate,
    OptimizationOut,
    OptimizationStatus,
)

__all__ = ["FINISHED", "POLL_S", "PlanningState", "progress_text"]

FINISHED = frozenset(
    {OptimizationStatus.DONE, OptimizationStatus.FAILED, OptimizationStatus.CANCELLED}
)
POLL_S = 0.5


class PlanningState(Observable):
    """One planning job at a time, polled until it finishes."""

    def __init__(
        self,
        client: ApiClient,
        *,
        on_expired: Callable[[], None],
        poll_s: float = POLL_S,
        time_budget_s: float | None = None,
    ) -> None:
        super().__init__()
        self._client = client
        # How long the optimiser may think: LASTMILE_PLAN_BUDGET_S, else 10 s.
        self.time_budget_s = time_budget_s or budget_seconds(
            os.environ.get("LASTMILE_PLAN_BUDGET_S")
        )
        self._on_expired = on_expired
        self._poll_s = poll_s
        self.clear()

    def clear(self) -> None:
        self.job: OptimizationOut | None = None
        # The finished plan against the day's current plan (loaded once the job is done).
        self.comparison: OptimizationComparison | None = None
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

    @property
    def status(self) -> str:
        """The line beside the progress bar (which shows the percent and the best plan)."""
        return self.error or status_text(self.job)

    @property
    def progress(self) -> float | None:
        """0 to 1 for the progress bar; None before the optimiser starts."""
        return progress_fraction(self.job)

    @property
    def best(self) -> str:
        """The best plan so far in words (empty until there is one)."""
        return best_text(self.job)

    async def plan(self, service_date: date, time_budget_s: float | None = None) -> None:
        """Start planning ``service_date`` and follow the job until it finishes; then load
        how it compares with the day's current plan."""
        budget = time_budget_s or self.time_budget_s
        self.error, self.published, self.comparison = None, False, None
        try:
            self.job = await self._client.start_optimization(
                OptimizationCreate(service_date=service_date, time_budget_s=budget)
            )
            self.notify()
            while self.job.status not in FINISHED:
                await asyncio.sleep(self._poll_s)
                self.job = await self._client.get_optimization(self.job.id)
                self.notify()
            if self.job.status is OptimizationStatus.DONE:
                self.comparison = await self._client.optimization_comparison(self.job.id)
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
        """Publish every draft route of the finished plan at once (drivers see them); the
        routes drivers already have stay as they are."""
        if not self.can_publish or self.job is None:
            return
        try:
            await self._client.publish_optimization(self.job.id)
        except (ApiError, httpx.TransportError) as exc:
            self._fail(exc)
            return
        self.published = True
        self.notify()

    def _fail(self, exc: ApiError | httpx.TransportError) -> None:
        self.error = failure_message(exc, self._client.base_url, self._on_expired)
        self.notify()
