"""The demo's day through the real API, as the demo dispatcher: plan it with the optimiser
(a progress bar with the percent and the best plan so far), publish it, and make tracking
links for orders that simulated drivers are on their way to.

A day already planned is left as it is (a restarted demo resumes it); drafts left by a
plan that finished but was never published are published.
"""

import asyncio
import math
from collections.abc import Collection
from datetime import date, datetime, timedelta

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from backend.demo.day import day_end
from shared.api_client import ApiClient, ApiError
from shared.enums import OrderStatus, RouteStatus
from shared.schemas.fleet import RouteOut, RouteUpdate
from shared.schemas.optimization import (
    BestSoFar,
    OptimizationCreate,
    OptimizationOut,
    OptimizationStatus,
)

TIME_BUDGET_S = 10.0
POLL_S = 0.5
ACTIVE = (OptimizationStatus.QUEUED, OptimizationStatus.RUNNING)


class DemoPlanningError(Exception):
    """The day could not be planned (the optimisation failed or was cancelled)."""


async def day_routes(api: ApiClient, day: date) -> list[RouteOut]:
    page = await api.list_routes(service_date=day, limit=100)
    return sorted(page.items, key=lambda r: r.id)


def stops_cap(orders: int, drivers: int) -> int:
    """The most stops a route may have so that ``orders`` spread over every driver, with
    a little room for the optimiser to choose."""
    return max(1, math.ceil(orders / max(1, drivers)) + 1)


def describe_best(best: BestSoFar | None) -> str:
    if best is None:
        return ""
    return f"{best.served} orders, {best.distance_m / 1000:.1f} km"


async def plan_day(
    api: ApiClient, now: datetime, console: Console, *, time_budget_s: float = TIME_BUDGET_S
) -> str:
    """Make sure ``now``'s day has published routes; say what was done, in words."""
    day = now.date()
    routes = await day_routes(api, day)
    if any(r.status is not RouteStatus.DRAFT for r in routes):
        return f"today's plan is already published ({len(routes)} routes): resuming it"
    if routes:
        for route in routes:
            await api.update_route(route.id, RouteUpdate(status=RouteStatus.PUBLISHED))
        return f"published the {len(routes)} draft routes of today"
    waiting = (await api.list_orders(status=[OrderStatus.CREATED], limit=1)).total
    drivers = (await api.list_drivers(limit=1)).total
    request = OptimizationCreate(
        service_date=day,
        time_budget_s=time_budget_s,
        shift_start=now.replace(microsecond=0),
        shift_end=day_end(now) + timedelta(hours=1),
        # Monaco is small: without a cap three vans could do the whole day; the demo
        # wants every driver on the road.
        max_stops_per_route=stops_cap(waiting, drivers),
    )
    try:
        job = await api.start_optimization(request)
    except ApiError as exc:
        running = exc.details.get("optimization_id") if isinstance(exc.details, dict) else None
        if exc.status != 409 or not isinstance(running, str):
            raise
        job = await api.get_optimization(running)  # one already plans today: follow it
    job = await _follow(api, job, console)
    if job.status is not OptimizationStatus.DONE:
        raise DemoPlanningError(f"the optimisation {job.status.value}: {job.error or ''}")
    published = await api.publish_optimization(job.id)
    served = job.best.served if job.best else 0
    return (
        f"planned and published {len(published.route_ids)} routes: {served} orders "
        f"({len(job.unassigned)} left out)"
    )


async def _follow(api: ApiClient, job: OptimizationOut, console: Console) -> OptimizationOut:
    console.print(f"optimising {job.order_count} orders over {job.driver_count} drivers")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("best: {task.fields[best]}"),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("planning", total=100, best="")
        while job.status in ACTIVE:
            progress.update(bar, completed=job.percent, best=describe_best(job.best))
            await asyncio.sleep(POLL_S)
            job = await api.get_optimization(job.id)
        done = 100 if job.status is OptimizationStatus.DONE else job.percent
        progress.update(bar, completed=done, best=describe_best(job.best))
    return job


async def tracking_urls(
    api: ApiClient, day: date, *, skip_drivers: Collection[int], count: int = 3
) -> list[str]:
    """Tracking links for ``count`` orders that simulated drivers still have to deliver:
    the next stop of the first routes, then the one after it, and so on."""
    routes = [
        r
        for r in await day_routes(api, day)
        if r.driver_id not in skip_drivers
        and r.status in (RouteStatus.PUBLISHED, RouteStatus.IN_PROGRESS)
    ]
    waiting = [
        [
            s.order_id
            for s in sorted(r.stops, key=lambda s: s.sequence or 0)
            if s.actual_departure_at is None
        ]
        for r in routes
    ]
    picks: list[int] = []
    depth = 0
    while len(picks) < count and any(len(w) > depth for w in waiting):
        picks.extend(w[depth] for w in waiting if len(w) > depth and w[depth] not in picks)
        depth += 1
    return [(await api.create_tracking_link(order_id)).url for order_id in picks[:count]]
