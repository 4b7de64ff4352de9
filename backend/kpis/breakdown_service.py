"""The KPI breakdowns of a range of days: per driver (stops per day, planned vs actual
route time) and per drop-off window slot (SLA adherence)."""

from datetime import timedelta, tzinfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.kpis import breakdown_queries, breakdowns
from backend.kpis.figures import Days
from backend.kpis.offsets import Offset, offsets
from backend.models import Driver
from shared.schemas.kpis import KpiDriverReport, KpiWindowReport

DRIVER_NOTES = [
    "Stops: deliveries and failed attempts the driver reported, on the local day they were "
    "reported; stops_per_day counts the days with at least one.",
    "Route time, seconds: each published route's stops that were both planned (an arrival "
    "time) and done (an arrival recorded), from the first of them to the last, by the "
    "planned and by the recorded arrivals, on the route's service date. The legs from and "
    "back to the depot are in neither; a route with fewer than two such stops is not timed.",
]

WINDOW_NOTES = [
    "A delivery is on time when it was reported between its drop-off window's start and end "
    "(both included), early before the start, late after the end; its current window counts "
    "(a rescheduled order is judged by its new window).",
    "Slots are the windows' local start and end times of day; deliveries are counted on the "
    "local day they were delivered. Deliveries without a window are in no slot: see "
    "without_window.",
]


# A delivery's window may lie a little outside the range (delivered late, the day after):
# its local time needs the offset of its own time.
_MARGIN = timedelta(days=7)


def _zone(days: Days, tz: tzinfo) -> list[Offset]:
    return offsets(days.start - _MARGIN, days.end + _MARGIN, tz)


async def driver_report(
    session: AsyncSession, org_id: int, days: Days, tz: tzinfo, tz_name: str
) -> KpiDriverReport:
    """Per driver of ``org_id``: stops per local day and route time, planned vs actual."""
    zone = _zone(days, tz)
    worked = await breakdown_queries.driver_days(session, org_id, days, zone)
    timed = await breakdown_queries.route_times(session, org_id, days)
    ids = {w.driver_id for w in worked} | {t.driver_id for t in timed}
    names: dict[int, str] = {}
    if ids:
        found = await session.exec(
            select(Driver.id, Driver.name).where(
                Driver.org_id == org_id, col(Driver.id).in_(sorted(ids))
            )
        )
        names = {int(i): n for i, n in found.all() if i is not None}
    return KpiDriverReport(
        date_from=days.days[0],
        date_to=days.days[-1],
        tz=tz_name,
        drivers=breakdowns.drivers(days.days, names, worked, timed),
        notes=DRIVER_NOTES,
    )


async def window_report(
    session: AsyncSession, org_id: int, days: Days, tz: tzinfo, tz_name: str
) -> KpiWindowReport:
    """Deliveries of ``org_id`` per drop-off window slot: on time, early, late."""
    zone = _zone(days, tz)
    slots, without = await breakdown_queries.window_slots(session, org_id, days, zone)
    return KpiWindowReport(
        date_from=days.days[0],
        date_to=days.days[-1],
        tz=tz_name,
        windows=breakdowns.windows(slots),
        delivered=sum(s.delivered for s in slots) + without,
        without_window=without,
        notes=WINDOW_NOTES,
    )
