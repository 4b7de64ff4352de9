"""The KPI breakdowns, pure: per driver (stops per day, planned vs actual route time) and
per drop-off window slot (SLA adherence), from the rows :mod:`backend.kpis.breakdown_queries`
grouped in SQL. No I/O."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from backend.kpis.figures import rate
from shared.schemas.kpis import KpiDriver, KpiDriverDay, KpiWindow


@dataclass(frozen=True, slots=True)
class DriverDay:
    """A driver's stops reported on one local day."""

    driver_id: int
    day: int  # index into the range's days
    attempts: int
    delivered: int

    @property
    def failed(self) -> int:
        return self.attempts - self.delivered


@dataclass(frozen=True, slots=True)
class RouteTime:
    """A route's stops both planned (an arrival time) and done (an arrival recorded): how
    many, and the seconds from the first of them to the last, as planned and as it went."""

    route_id: int
    driver_id: int
    service_date: date
    stops: int
    planned_s: float
    actual_s: float


@dataclass(frozen=True, slots=True)
class Slot:
    """Deliveries whose drop-off window opened at ``start_min`` and closed at ``end_min``
    (minutes of the local day), and how they went."""

    start_min: int
    end_min: int
    delivered: int
    early: int
    late: int
    late_s: float  # summed over the late ones: seconds past the window's end


@dataclass(slots=True)
class _Day:
    stops: int = 0
    delivered: int = 0
    timed_routes: int = 0
    planned_s: float = 0.0
    actual_s: float = 0.0


def drivers(
    days: list[date],
    names: Mapping[int, str],
    worked: Iterable[DriverDay],
    timed: Iterable[RouteTime],
) -> list[KpiDriver]:
    """Each driver with a stop or a timed route in the range, by name, with their days."""
    per: dict[int, dict[date, _Day]] = defaultdict(lambda: defaultdict(_Day))
    for row in worked:
        day = per[row.driver_id][days[row.day]]
        day.stops += row.attempts
        day.delivered += row.delivered
    for route in timed:
        day = per[route.driver_id][route.service_date]
        day.timed_routes += 1
        day.planned_s += route.planned_s
        day.actual_s += route.actual_s
    found = []
    for driver_id, by_day in per.items():
        rows = [
            KpiDriverDay(
                day=d,
                stops=f.stops,
                delivered=f.delivered,
                failed=f.stops - f.delivered,
                timed_routes=f.timed_routes,
                planned_duration_s=round(f.planned_s, 1),
                actual_duration_s=round(f.actual_s, 1),
            )
            for d, f in sorted(by_day.items())
        ]
        stops = sum(r.stops for r in rows)
        planned = sum(f.planned_s for f in by_day.values())
        actual = sum(f.actual_s for f in by_day.values())
        found.append(
            KpiDriver(
                driver_id=driver_id,
                name=names.get(driver_id, f"driver {driver_id}"),
                days_with_stops=sum(1 for r in rows if r.stops),
                stops=stops,
                delivered=sum(r.delivered for r in rows),
                failed=sum(r.failed for r in rows),
                stops_per_day=rate(stops, sum(1 for r in rows if r.stops)),
                timed_routes=sum(r.timed_routes for r in rows),
                planned_duration_s=round(planned, 1),
                actual_duration_s=round(actual, 1),
                duration_ratio=rate(actual, planned),
                days=rows,
            )
        )
    return sorted(found, key=lambda d: (d.name, d.driver_id))


def clock(minute: int) -> str:
    """``"HH:MM"`` for a minute of the day."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def windows(slots: Iterable[Slot]) -> list[KpiWindow]:
    """Per slot, by start then end time: delivered, on time, early, late, and how late."""
    found = []
    for s in sorted(slots, key=lambda s: (s.start_min, s.end_min)):
        on_time = s.delivered - s.early - s.late
        found.append(
            KpiWindow(
                slot=f"{clock(s.start_min)}-{clock(s.end_min)}",
                starts=clock(s.start_min),
                ends=clock(s.end_min),
                delivered=s.delivered,
                on_time=on_time,
                early=s.early,
                late=s.late,
                on_time_rate=rate(on_time, s.delivered),
                late_minutes_avg=None if not s.late else round(s.late_s / s.late / 60, 1),
            )
        )
    return found
