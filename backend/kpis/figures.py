"""The KPI arithmetic, pure: day boundaries in a time zone, rates from counts, hours
worked, the length of a GPS track. No I/O (the counts come from ``backend.kpis.queries``)."""

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from shared.geo import Point, haversine_m
from shared.schemas.kpis import KpiDay, KpiFigures

MAX_DAYS = 92
# The breakdowns (per driver, per window slot) group by local day in few CASE branches:
# a year at a time.
MAX_BREAKDOWN_DAYS = 366
# GPS points closer than this to the last one kept are jitter, not driving.
MIN_STEP_M = 15.0
# A driver's day shorter than this cannot be measured in stops per hour.
MIN_WORK = timedelta(minutes=5)


class RangeError(ValueError):
    """A date range the KPIs cannot be computed for."""


@dataclass(frozen=True, slots=True)
class Days:
    """Consecutive local days and where each starts, in UTC: ``starts[i]`` to
    ``starts[i + 1]`` is ``days[i]`` (so ``starts`` has one more entry)."""

    days: list[date]
    starts: list[datetime]

    @property
    def start(self) -> datetime:
        return self.starts[0]

    @property
    def end(self) -> datetime:
        return self.starts[-1]

    def index_of(self, at: datetime) -> int | None:
        """Which day ``at`` (aware) falls in, or None outside the range."""
        i = bisect.bisect_right(self.starts, at) - 1
        return i if 0 <= i < len(self.days) else None


def local_days(date_from: date, date_to: date, tz: tzinfo, max_days: int = MAX_DAYS) -> Days:
    """The days from ``date_from`` to ``date_to`` (both included) in ``tz``; a day with a
    daylight-saving change is 23 or 25 hours long."""
    if date_to < date_from:
        raise RangeError(f"date_to ({date_to}) is before date_from ({date_from})")
    count = (date_to - date_from).days + 1
    if count > max_days:
        raise RangeError(f"at most {max_days} days at a time; {count} were asked for")
    days = [date_from + timedelta(days=i) for i in range(count)]
    ends = [*days, date_to + timedelta(days=1)]
    starts = [datetime.combine(d, time(), tz).astimezone(UTC) for d in ends]
    return Days(days, starts)


def rate(part: int | float, whole: int | float) -> float | None:
    """``part / whole``, or None when there is nothing to divide by."""
    return part / whole if whole else None


@dataclass(slots=True)
class Counts:
    """What is counted for one day (or summed over the range)."""

    delivered: int = 0
    delivered_with_window: int = 0
    on_time: int = 0
    first_attempts: int = 0
    first_attempt_successes: int = 0
    attempts: int = 0
    driver_hours: float = 0.0
    driver_days: int = 0
    timed_routes: int = 0
    planned_duration_s: float = 0.0
    actual_duration_s: float = 0.0
    routes: int = 0
    planned_distance_m: float = 0.0
    actual_distance_m: float = 0.0
    track_views: int = 0
    viewed_orders: int = 0

    def add(self, other: "Counts") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def figures(self) -> KpiFigures:
        return KpiFigures(
            delivered=self.delivered,
            delivered_with_window=self.delivered_with_window,
            on_time=self.on_time,
            on_time_rate=rate(self.on_time, self.delivered_with_window),
            first_attempts=self.first_attempts,
            first_attempt_successes=self.first_attempt_successes,
            first_attempt_rate=rate(self.first_attempt_successes, self.first_attempts),
            attempts=self.attempts,
            driver_hours=round(self.driver_hours, 3),
            stops_per_driver_hour=rate(self.attempts, self.driver_hours),
            driver_days=self.driver_days,
            stops_per_driver_day=rate(self.attempts, self.driver_days),
            timed_routes=self.timed_routes,
            planned_duration_s=round(self.planned_duration_s, 1),
            actual_duration_s=round(self.actual_duration_s, 1),
            duration_ratio=rate(self.actual_duration_s, self.planned_duration_s),
            routes=self.routes,
            planned_distance_m=round(self.planned_distance_m, 1),
            actual_distance_m=round(self.actual_distance_m, 1),
            track_views=self.track_views,
            viewed_orders=self.viewed_orders,
            views_per_order=rate(self.track_views, self.viewed_orders),
        )


def day_figures(day: date, counts: Counts) -> KpiDay:
    return KpiDay(day=day, **counts.figures().model_dump())


def totals(per_day: Iterable[Counts], viewed_orders: int) -> KpiFigures:
    """The range's figures: counts summed, rates made again from the sums (not an average
    of daily rates); ``viewed_orders`` is counted over the whole range (an order viewed on
    two days is one order)."""
    total = Counts()
    for counts in per_day:
        total.add(counts)
    total.viewed_orders = viewed_orders
    return total.figures()


@dataclass(slots=True)
class WorkSpan:
    """What is known of when one driver worked on one day: the first and last of their
    fixes, attempts and route start/end. Hours are the time between them."""

    first: datetime | None = None
    last: datetime | None = None
    attempts: int = 0
    has_route: bool = False

    def saw(self, *moments: datetime | None) -> None:
        for at in moments:
            if at is None:
                continue
            self.first = at if self.first is None else min(self.first, at)
            self.last = at if self.last is None else max(self.last, at)

    @property
    def hours(self) -> float:
        """Hours worked; 0 when too short to measure (a single attempt, nothing else)."""
        if self.first is None or self.last is None or self.last - self.first < MIN_WORK:
            return 0.0
        return (self.last - self.first).total_seconds() / 3600


def track_length_m(points: Sequence[Point], min_step_m: float = MIN_STEP_M) -> float:
    """Length of a GPS track in metres, point to point in time order, leaving out moves
    shorter than ``min_step_m`` from the last point kept (a parked phone's jitter would
    otherwise add up to kilometres)."""
    if not points:
        return 0.0
    total = 0.0
    kept = points[0]
    for point in points[1:]:
        step = haversine_m(kept, point)
        if step >= min_step_m:
            total += step
            kept = point
    return total
