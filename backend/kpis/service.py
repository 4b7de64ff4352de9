"""Putting the KPI report together: the queries' counts per day, the planned distances
from the road router, the driven ones from the GPS history."""

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import tzinfo

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.kpis import breakdown_queries, queries
from backend.kpis.figures import Counts, Days, WorkSpan, day_figures, totals, track_length_m
from backend.routing.port import RoutingError
from backend.routing.results import Route as RoadRoute
from shared.geo import Point
from shared.schemas.kpis import KpiReport, ViewedOrder

NOTES = [
    "Hours worked: a driver's day runs from the first to the last of their GPS fixes, "
    "reported stops and route start/end; the server does not record shift times yet.",
    "Planned distance: along the roads through each route's stops in their current order, "
    "first stop to last (routes carry no depot, so a one-stop route plans none; a stop "
    "rescheduled off its route since is not in it); routes not yet published are left out.",
    "Driven distance: the GPS history of the same drivers on the same days, which is kept "
    "for LASTMILE_LOCATION_RETENTION_DAYS; older days show none.",
    "Route time: from the first to the last stop that was both planned (an arrival time) "
    "and done (an arrival recorded), by the planned and by the recorded arrivals; the "
    "legs from and back to the depot are in neither. Stops per driver day: the days a "
    "driver reported at least one stop.",
    "Tracking page visits: one per customer device and link until the page is left alone "
    "30 minutes; counted when the page reads its view over HTTP.",
]

RouteOf = Callable[[list[Point]], RoadRoute]


async def _planned_m(route_of: RouteOf, points: tuple[Point, ...]) -> tuple[float, bool]:
    """Road metres through ``points`` and whether any of it is a straight-line estimate."""
    if len(points) < 2:
        return 0.0, False
    try:
        found = await asyncio.to_thread(route_of, list(points))
    except RoutingError:
        return 0.0, True
    return found.distance_m, found.estimated


async def report(
    session: AsyncSession,
    org_id: int,
    days: Days,
    tz: tzinfo,
    tz_name: str,
    route_of: RouteOf,
) -> KpiReport:
    """The KPIs of ``org_id`` for ``days`` (local days in ``tz``)."""
    counts = [Counts() for _ in days.days]
    for i, d in (await queries.deliveries(session, org_id, days)).items():
        counts[i].delivered, counts[i].delivered_with_window = d.delivered, d.with_window
        counts[i].on_time = d.on_time
    for i, (n, ok) in (await queries.first_attempts(session, org_id, days)).items():
        counts[i].first_attempts, counts[i].first_attempt_successes = n, ok
    for i, (n, orders) in (await queries.views(session, org_id, days)).items():
        counts[i].track_views, counts[i].viewed_orders = n, orders

    work: dict[tuple[int, int], WorkSpan] = defaultdict(WorkSpan)
    for key, span in (await queries.attempts_by_driver(session, org_id, days)).items():
        work[key].attempts = span.count
        work[key].saw(span.first, span.last)
    index_of_day = {d: i for i, d in enumerate(days.days)}
    routes = await queries.routes(session, org_id, days)
    estimated = False
    for route in routes:
        i = index_of_day[route.service_date]
        counts[i].routes += 1
        metres, rough = await _planned_m(route_of, route.points)
        counts[i].planned_distance_m += metres
        estimated = estimated or rough
        work[(route.driver_id, i)].has_route = True
        work[(route.driver_id, i)].saw(route.actual_start_at, route.actual_end_at)
    for key, (first, last) in (await queries.fix_spans(session, org_id, days)).items():
        if key in work:  # a driver who drove that day (reported stops, or had a route)
            work[key].saw(first, last)
    for (_, i), worked in work.items():
        counts[i].attempts += worked.attempts
        counts[i].driver_hours += worked.hours
        counts[i].driver_days += 1 if worked.attempts else 0
    for timed in await breakdown_queries.route_times(session, org_id, days):
        day = counts[index_of_day[timed.service_date]]
        day.timed_routes += 1
        day.planned_duration_s += timed.planned_s
        day.actual_duration_s += timed.actual_s

    routed = {key for key, span in work.items() if span.has_route}
    for i, metres in (await _driven_m(session, org_id, days, routed)).items():
        counts[i].actual_distance_m += metres

    top = await queries.most_viewed(session, org_id, days)
    return KpiReport(
        date_from=days.days[0],
        date_to=days.days[-1],
        tz=tz_name,
        days=[day_figures(d, c) for d, c in zip(days.days, counts, strict=True)],
        totals=totals(counts, await queries.viewed_orders(session, org_id, days)),
        most_viewed=[ViewedOrder(order_id=o, reference=r, views=n) for o, r, n in top],
        distance_estimated=estimated,
        notes=NOTES,
    )


async def _driven_m(
    session: AsyncSession, org_id: int, days: Days, routed: set[tuple[int, int]]
) -> dict[int, float]:
    """Metres driven per day by the drivers who had a route that day (their GPS track)."""
    driven: dict[int, float] = defaultdict(float)
    drivers = sorted({driver_id for driver_id, _ in routed})
    track: list[Point] = []
    current: tuple[int, int] | None = None
    async for driver_id, at, point in queries.tracks(session, org_id, drivers, days):
        i = days.index_of(at)
        key = (driver_id, i) if i is not None else None
        if key != current:
            if current is not None:
                driven[current[1]] += track_length_m(track)
            current, track = key, []
        if key is not None and key in routed:
            track.append(point)
    if current is not None:
        driven[current[1]] += track_length_m(track)
    return driven
