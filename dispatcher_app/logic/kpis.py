"""The KPIs in figures and bars: the range picked, the tiles' words, the charts' series.
Pure functions over the server's report (``GET /kpis``)."""

from dataclasses import dataclass
from datetime import UTC, date, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from shared.schemas.kpis import KpiDay, KpiReport, KpiWindowReport

RANGES = {"today": "Today", "7d": "Last 7 days", "30d": "Last 30 days"}
_LENGTHS = {"today": 1, "7d": 7, "30d": 30}


def date_range(choice: str, today: date) -> tuple[date, date]:
    """The first and last day of ``choice`` (one of :data:`RANGES`), ending today."""
    days = _LENGTHS.get(choice)
    if days is None:
        raise ValueError(f"unknown range {choice!r}; one of {', '.join(RANGES)}")
    return today - timedelta(days=days - 1), today


def zone_name(tz: tzinfo) -> str:
    """The IANA name the server counts days in: the zone's own, or for a fixed offset of
    whole hours its ``Etc/GMT`` twin (signs reversed, as the tz database has them)."""
    if isinstance(tz, ZoneInfo):
        return tz.key
    if tz is UTC:
        return "UTC"
    if isinstance(tz, timezone):
        offset = tz.utcoffset(None)
        hours, rest = divmod(int(offset.total_seconds()), 3600)
        if rest == 0 and -12 <= hours <= 14:
            return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
    return "UTC"


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{round(rate * 100)} %"


def km(metres: float) -> str:
    return f"{metres / 1000:.1f} km"


@dataclass(frozen=True, slots=True)
class Tile:
    id: str  # the Semantics identifier
    title: str
    value: str
    detail: str


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def tiles(report: KpiReport) -> list[Tile]:
    """The range's seven figures, each with the counts behind it."""
    t = report.totals
    worked = f"{t.driver_hours:.1f} h"
    overrun = "-"
    if t.duration_ratio is not None:
        overrun = f"{(t.duration_ratio - 1) * 100:+.0f} %"
    spread = ""
    if t.planned_distance_m:
        spread = f" ({(t.actual_distance_m / t.planned_distance_m - 1) * 100:+.0f} %)"
    planned = f"planned {km(t.planned_distance_m)}"
    if report.distance_estimated:
        planned += ", partly estimated"
    return [
        Tile(
            "kpi-on-time",
            "On time",
            percent(t.on_time_rate),
            f"{t.on_time} of {t.delivered_with_window} deliveries inside their window",
        ),
        Tile(
            "kpi-first-attempt",
            "First attempt",
            percent(t.first_attempt_rate),
            f"{t.first_attempt_successes} of {t.first_attempts} delivered at the first try",
        ),
        Tile(
            "kpi-stops-per-hour",
            "Stops per driver hour",
            "-" if t.stops_per_driver_hour is None else f"{t.stops_per_driver_hour:.1f}",
            f"{_many(t.attempts, 'stop')} in {worked} of driving days",
        ),
        Tile(
            "kpi-stops-per-day",
            "Stops per driver day",
            "-" if t.stops_per_driver_day is None else f"{t.stops_per_driver_day:.1f}",
            f"{_many(t.attempts, 'stop')} in {_many(t.driver_days, 'driver day')}",
        ),
        Tile(
            "kpi-route-time",
            "Route time vs plan",
            overrun,
            (
                f"{hours(t.actual_duration_s)} taken, {hours(t.planned_duration_s)} planned, "
                f"{_many(t.timed_routes, 'route')}"
                if t.timed_routes
                else "no route with two planned stops done"
            ),
        ),
        Tile(
            "kpi-distance",
            "Driven vs planned",
            f"{km(t.actual_distance_m)}{spread}",
            f"{planned}, {_many(t.routes, 'route')}",
        ),
        Tile(
            "kpi-track-views",
            "Tracking page visits per order",
            "-" if t.views_per_order is None else f"{t.views_per_order:.1f}",
            f"{_many(t.track_views, 'visit')} about {_many(t.viewed_orders, 'order')}",
        ),
    ]


@dataclass(frozen=True, slots=True)
class WindowRow:
    id: str  # the Semantics identifier
    cells: tuple[str, ...]  # as WINDOW_COLUMNS


WINDOW_COLUMNS = ("Window", "Delivered", "On time", "Early", "Late", "Late by (avg)")


def window_rows(report: KpiWindowReport) -> list[WindowRow]:
    """One row per drop-off window slot, then the deliveries that had no window."""
    rows = [
        WindowRow(
            f"kpi-window-{w.starts.replace(':', '')}-{w.ends.replace(':', '')}",
            (
                w.slot,
                str(w.delivered),
                f"{w.on_time} ({percent(w.on_time_rate)})",
                str(w.early),
                str(w.late),
                "-" if w.late_minutes_avg is None else f"{w.late_minutes_avg:.0f} min",
            ),
        )
        for w in report.windows
    ]
    if report.without_window:
        rows.append(
            WindowRow(
                "kpi-window-none",
                ("No window", str(report.without_window), "-", "-", "-", "-"),
            )
        )
    return rows


def day_label(day: date, many: bool) -> str:
    return day.strftime("%d %b") if many else day.strftime("%a %d")


@dataclass(frozen=True, slots=True)
class DayBars:
    label: str
    on_time: int
    late: int  # delivered outside the window (early or late), or with no window
    failed_first: int  # first attempts that failed


def delivery_bars(days: list[KpiDay]) -> list[DayBars]:
    many = len(days) > 7
    return [
        DayBars(
            day_label(d.day, many),
            d.on_time,
            d.delivered - d.on_time,
            d.first_attempts - d.first_attempt_successes,
        )
        for d in days
    ]


@dataclass(frozen=True, slots=True)
class DistanceBars:
    label: str
    planned_km: float
    driven_km: float


def distance_bars(days: list[KpiDay]) -> list[DistanceBars]:
    many = len(days) > 7
    return [
        DistanceBars(
            day_label(d.day, many),
            round(d.planned_distance_m / 1000, 1),
            round(d.actual_distance_m / 1000, 1),
        )
        for d in days
    ]


def labelled(count: int, most: int = 8) -> set[int]:
    """Which of ``count`` bars get a label under them (every bar up to ``most``; then
    evenly spread ones, the last included)."""
    if count <= most:
        return set(range(count))
    step = -(-count // most)
    return {i for i in range(count) if (count - 1 - i) % step == 0}


def top(values: list[float]) -> float:
    """A round top for an axis over ``values`` (at least 1)."""
    highest = max(values, default=0.0)
    if highest <= 1:
        return 1.0
    magnitude = 10 ** (len(str(int(highest))) - 1)
    return float(-(-highest // magnitude) * magnitude)
