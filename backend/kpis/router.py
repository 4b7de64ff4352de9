"""``GET /api/v1/kpis``: the delivery KPIs of a range of days; ``/kpis/drivers`` and
``/kpis/windows``: the same range broken down per driver and per drop-off window slot."""

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query

from backend.deps import SessionDep, StaffUser, StateDep
from backend.errors import UnprocessableError
from backend.kpis.breakdown_service import driver_report, window_report
from backend.kpis.figures import MAX_BREAKDOWN_DAYS, MAX_DAYS, Days, RangeError, local_days
from backend.kpis.service import report
from backend.models.types import utcnow
from backend.responses import ERRORS
from shared.schemas.kpis import KpiDriverReport, KpiReport, KpiWindowReport

router = APIRouter(prefix="/kpis", tags=["kpis"])


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnprocessableError(
            f"unknown time zone {name!r}: give an IANA name such as 'Europe/Monaco' or 'UTC'",
            code="unknown_time_zone",
        ) from None


FromDay = Annotated[date | None, Query(description="first day; default: today")]
ToDay = Annotated[date | None, Query(description="last day, included; default: date_from")]
Zone = Annotated[str, Query(max_length=64, description="IANA time zone the days are counted in")]


def _days(date_from: date | None, date_to: date | None, zone: ZoneInfo, max_days: int) -> Days:
    today = utcnow().astimezone(zone).date()
    first = date_from or today
    last = date_to or first
    try:
        return local_days(first, last, zone, max_days)
    except RangeError as exc:
        raise UnprocessableError(str(exc), code="bad_date_range") from None


@router.get("", response_model=KpiReport, responses=ERRORS(401, 403, 422))
async def kpis(
    principal: StaffUser,
    session: SessionDep,
    state: StateDep,
    date_from: FromDay = None,
    date_to: ToDay = None,
    tz: Zone = "UTC",
) -> KpiReport:
    """Delivery KPIs per day from ``date_from`` to ``date_to`` (at most 92 days; both
    default to today in ``tz``), with the range's totals: on-time rate (delivered inside
    the drop-off's window), first-attempt success rate, stops per driver hour, planned
    vs driven distance (metres), stops per driver day, planned vs actual route time
    (seconds), and tracking page visits per order (the "where is my
    order" figure), plus the most visited orders. A rate is null when nothing was
    counted; ``notes`` say which approximations apply."""
    zone = _zone(tz)
    days = _days(date_from, date_to, zone, MAX_DAYS)
    return await report(session, principal.org_id, days, zone, tz, state.routing.route)


@router.get("/drivers", response_model=KpiDriverReport, responses=ERRORS(401, 403, 422))
async def kpis_per_driver(
    principal: StaffUser,
    session: SessionDep,
    date_from: FromDay = None,
    date_to: ToDay = None,
    tz: Zone = "UTC",
) -> KpiDriverReport:
    """Per driver, from ``date_from`` to ``date_to`` (at most 366 days; both default to
    today in ``tz``): stops reported (delivered + failed) per local day and per day
    worked, and route time planned vs actual (seconds, first to last stop both planned
    and done). Only drivers with a stop or a timed route in the range are listed."""
    zone = _zone(tz)
    days = _days(date_from, date_to, zone, MAX_BREAKDOWN_DAYS)
    return await driver_report(session, principal.org_id, days, zone, tz)


@router.get("/windows", response_model=KpiWindowReport, responses=ERRORS(401, 403, 422))
async def kpis_per_window(
    principal: StaffUser,
    session: SessionDep,
    date_from: FromDay = None,
    date_to: ToDay = None,
    tz: Zone = "UTC",
) -> KpiWindowReport:
    """SLA adherence per drop-off window slot (its local start and end times of day in
    ``tz``) over the deliveries from ``date_from`` to ``date_to`` (at most 366 days):
    delivered, on time, early, late, and the late ones' average minutes past the window.
    Deliveries without a window are counted apart (``without_window``)."""
    zone = _zone(tz)
    days = _days(date_from, date_to, zone, MAX_BREAKDOWN_DAYS)
    return await window_report(session, principal.org_id, days, zone, tz)
