"""Location endpoints: the app's HTTP batch, fleet positions and nearest drivers, history,
day exports, metrics."""

import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from backend.crud import get_in_org
from backend.deps import AdminUser, DriverUser, SessionDep, StaffUser, StateDep
from backend.errors import BadRequestError
from backend.fleet.nearest import nearest_drivers
from backend.locations.app_batch import ingest_body
from backend.locations.export import to_geojson, to_gpx
from backend.locations.fix import DriverRef, Fix
from backend.locations.history_read import fixes_between
from backend.locations.ingest_support import read_body
from backend.models import Driver
from backend.responses import ERRORS
from shared.geo import Point
from shared.schemas.common import Page
from shared.schemas.locations import (
    MAX_BATCH,
    FixIn,
    IngestResponse,
    LocationFixOut,
    NearestDriverOut,
    PositionOut,
)

router = APIRouter(tags=["locations"])

_BATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "maxItems": MAX_BATCH,
                "items": FixIn.model_json_schema(),
                "description": 'up to 500 fixes and 1 MiB; {"fixes": [...]} or one fix too',
            }
        }
    },
}
_413: dict[int | str, dict[str, Any]] = {413: {"description": "More than 500 fixes or 1 MiB"}}


@router.post(
    "/drivers/me/locations",
    response_model=IngestResponse,
    responses={**ERRORS(401, 403, 422), **_413},
    openapi_extra={"requestBody": _BATCH_BODY},
)
async def post_my_locations(
    request: Request, driver: DriverUser, state: StateDep
) -> IngestResponse:
    """The driver app's batch of fixes (up to 500). Good fixes of a mixed batch are kept;
    ``rejected`` lists the others by index with the reason. Answered once the accepted fixes
    are stored durably: an acknowledged fix survives a server crash."""
    assert driver.driver_id is not None
    received_at = time.time()
    raw = await read_body(request)
    ref = DriverRef(org_id=driver.org_id, driver_id=driver.driver_id)
    return IngestResponse.model_validate(await ingest_body(state.locations, ref, raw, received_at))


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


@router.get("/fleet/positions", response_model=list[PositionOut], responses=ERRORS(401, 403))
async def fleet_positions(principal: StaffUser, state: StateDep) -> list[PositionOut]:
    """Every driver's current position in the organisation, with its age in seconds (from
    every backend worker when ``REDIS_URL`` is set)."""
    now = time.time()
    return [
        PositionOut(
            driver_id=p.driver.driver_id,
            lat=p.fix.lat,
            lng=p.fix.lng,
            recorded_at=_utc(p.fix.recorded_at),
            speed_mps=p.fix.speed_mps,
            heading_deg=p.fix.heading_deg,
            accuracy_m=p.fix.accuracy_m,
            battery=p.fix.battery,
            age_s=round(max(0.0, now - p.fix.recorded_at), 3),
        )
        for p in await state.locations.positions(principal.org_id)
    ]


@router.get(
    "/fleet/nearest", response_model=list[NearestDriverOut], responses=ERRORS(401, 403, 422)
)
async def fleet_nearest(
    principal: StaffUser,
    session: SessionDep,
    state: StateDep,
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="WGS84")],
    lng: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="WGS84")],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[NearestDriverOut]:
    """The organisation's on-duty drivers (any status but offline) nearest to ``lat``,
    ``lng``, nearest first: straight-line distance in metres from each one's last stored
    fix, and when that fix was taken. Drivers with no stored fix are not listed."""
    now = time.time()
    found = await nearest_drivers(session, principal.org_id, Point(lat, lng), limit, state.spatial)
    return [
        NearestDriverOut(
            driver_id=n.driver.driver_id,
            name=n.driver.name,
            status=n.driver.status,
            lat=n.driver.lat,
            lng=n.driver.lng,
            distance_m=round(n.distance_m, 1),
            recorded_at=n.driver.recorded_at,
            age_s=round(max(0.0, now - n.driver.recorded_at.timestamp()), 3),
        )
        for n in found
    ]


@router.get("/fleet/metrics", response_model=dict[str, int], responses=ERRORS(401, 403))
async def fleet_metrics(admin: AdminUser, state: StateDep) -> dict[str, int]:
    """Location pipeline counters of this server process: fixes received, accepted,
    stored, rejected by reason (``rejected_<reason>``), history commits and pruned rows."""
    return state.locations.metrics.snapshot()


def _out(fix: Fix) -> LocationFixOut:
    return LocationFixOut(
        lat=fix.lat,
        lng=fix.lng,
        recorded_at=_utc(fix.recorded_at),
        received_at=_utc(fix.received_at),
        speed_mps=fix.speed_mps,
        heading_deg=fix.heading_deg,
        accuracy_m=fix.accuracy_m,
        altitude_m=fix.altitude_m,
        battery=fix.battery,
        source=fix.source.value,
    )


@router.get(
    "/drivers/{driver_id}/locations",
    response_model=Page[LocationFixOut],
    responses=ERRORS(400, 401, 403, 404, 422),
)
async def driver_locations(
    driver_id: int,
    principal: StaffUser,
    session: SessionDep,
    state: StateDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[LocationFixOut]:
    """A driver's history with ``from <= recorded_at < to`` (default: the last 24 hours),
    oldest first, up to ``limit`` (≤ 5000) fixes per page."""
    await get_in_org(session, Driver, driver_id, principal.org_id, label="driver")
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=1)
    for name, value in (("from", start), ("to", end)):
        if value.tzinfo is None:
            raise BadRequestError(f"{name}: give a timezone (e.g. 2030-01-02T08:00:00Z)")
    if end <= start:
        raise BadRequestError("to must be after from")
    fixes, total = await fixes_between(
        state.engine, driver_id, start, end, limit=limit, offset=offset
    )
    return Page[LocationFixOut](
        items=[_out(f) for f in fixes], total=total, limit=limit, offset=offset
    )


async def _day(
    driver_id: int, day: date, principal: Any, session: SessionDep, state: StateDep
) -> tuple[Driver, list[Fix]]:
    driver = await get_in_org(session, Driver, driver_id, principal.org_id, label="driver")
    start = datetime.combine(day, dtime(0), UTC)
    fixes, _ = await fixes_between(
        state.engine, driver_id, start, start + timedelta(days=1), limit=1_000_000
    )
    return driver, fixes


_GPX: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/gpx+xml": {}}, "description": "GPX 1.1 track"}
}
_GEOJSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/geo+json": {}}, "description": "GeoJSON Feature"}
}


@router.get(
    "/drivers/{driver_id}/locations.gpx",
    response_class=Response,
    responses={**_GPX, **ERRORS(401, 403, 404, 422)},
)
async def driver_day_gpx(
    driver_id: int,
    principal: StaffUser,
    session: SessionDep,
    state: StateDep,
    day: Annotated[date | None, Query(alias="date", description="UTC day; default today")] = None,
) -> Response:
    """A driver's day (UTC) as a GPX 1.1 track: one ``trkpt`` per fix with ``ele`` and ``time``."""
    day = day or datetime.now(UTC).date()
    driver, fixes = await _day(driver_id, day, principal, session, state)
    body = to_gpx(fixes, f"{driver.name} {day.isoformat()}")
    filename = f"driver-{driver_id}-{day.isoformat()}.gpx"
    return Response(
        body,
        media_type="application/gpx+xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/drivers/{driver_id}/locations.geojson",
    response_class=JSONResponse,
    responses={**_GEOJSON, **ERRORS(401, 403, 404, 422)},
)
async def driver_day_geojson(
    driver_id: int,
    principal: StaffUser,
    session: SessionDep,
    state: StateDep,
    day: Annotated[date | None, Query(alias="date", description="UTC day; default today")] = None,
) -> JSONResponse:
    """A driver's day (UTC) as a GeoJSON Feature: a LineString of [lng, lat(, altitude)]
    with ``coordTimes`` giving each position's time."""
    day = day or datetime.now(UTC).date()
    driver, fixes = await _day(driver_id, day, principal, session, state)
    feature = to_geojson(
        fixes, {"driver_id": driver_id, "name": driver.name, "date": day.isoformat()}
    )
    filename = f"driver-{driver_id}-{day.isoformat()}.geojson"
    return JSONResponse(
        feature,
        media_type="application/geo+json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
