"""``GET /api/v1/kpis``: the delivery KPIs of a range of days."""

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query

from backend.deps import SessionDep, StaffUser, StateDep
from backend.errors import UnprocessableError
from backend.kpis.figures import RangeError, local_days
from backend.kpis.service import report
from backend.models.types import utcnow
from backend.responses import ERRORS
from shared.schemas.kpis import KpiReport

router = APIRouter(prefix="/kpis", tags=["kpis"])


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnprocessableError(
            f"unknown time zone {name!r}: give an IANA name such as 'Europe/Monaco' or 'UTC'",
            code="unknown_time_zone",
        ) from None


@router.get("", response_model=KpiReport, responses=ERRORS(401, 403, 422))
async def kpis(
    principal: StaffUser,
    session: SessionDep,
    state: StateDep,
    date_from: Annotated[date | None, Query(description="first day; default: today")] = None,
    date_to: Annotated[
        date | None, Query(description="last day, included; default: date_from")
    ] = None,
    tz: Annotated[
        str, Query(max_length=64, description="IANA time zone the days are counted in")
    ] = "UTC",
) -> KpiReport:
    """Delivery KPIs per day from ``date_from`` to ``date_to`` (at most 92 days; both
    default to today in ``tz``), with the range's totals: on-time rate (delivered inside
    the drop-off's window), first-attempt success rate, stops per driver hour, planned
    vs driven distance (metres), and tracking page visits per order (the "where is my
    order" figure), plus the most visited orders. A rate is null when nothing was
    counted; ``notes`` say which approximations apply."""
    zone = _zone(tz)
    today = utcnow().astimezone(zone).date()
    first = date_from or today
    last = date_to or first
    try:
        days = local_days(first, last, zone)
    except RangeError as exc:
        raise UnprocessableError(str(exc), code="bad_date_range") from None
    return await report(session, principal.org_id, days, zone, tz, state.routing.route)
