"""``/api/v1/exports``: orders and events as CSV (streamed, a page of rows at a time, so a
year of data never sits in memory), a route as GeoJSON or GPX."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import ColumnElement
from sqlmodel import col, select

from backend.crud import get_in_org
from backend.db import session_scope
from backend.deps import SessionDep, StaffUser, StateDep
from backend.errors import UnprocessableError
from backend.exports.route_shapes import RouteStop, route_geojson, route_gpx
from backend.exports.tables import EVENT_COLUMNS, ORDER_COLUMNS, csv_text
from backend.models import Driver, Order, OrderEvent, Route, Stop
from backend.responses import ERRORS
from backend.routing.port import RoutingError
from shared.enums import OrderStatus, StopKind
from shared.geo import Point

router = APIRouter(prefix="/exports", tags=["exports"])

BATCH = 1000
MAX_DAYS = 366
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV, a header line first"}
}


def _range(date_from: date | None, date_to: date | None) -> tuple[datetime, datetime]:
    """UTC days ``date_from`` to ``date_to`` included (default: the last 30 days)."""
    today = datetime.now(UTC).date()
    last = date_to or today
    first = date_from or last - timedelta(days=29)
    if first > last:
        raise UnprocessableError(
            f"date_from {first} is after date_to {last}", code="bad_date_range"
        )
    if (last - first).days >= MAX_DAYS:
        raise UnprocessableError(
            f"at most {MAX_DAYS} days at once: {first} to {last} is {(last - first).days + 1}",
            code="bad_date_range",
        )
    start = datetime.combine(first, time(0), tzinfo=UTC)
    return start, datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


async def _order_rows(
    state: Any, org_id: int, conditions: Sequence[ColumnElement[bool]]
) -> AsyncIterator[str]:
    """The header, then the orders by id, ``BATCH`` at a time, each in its own session."""
    yield csv_text([ORDER_COLUMNS])
    after = 0
    while True:
        async with session_scope(state.engine) as session:
            orders = (
                await session.exec(
                    select(Order)
                    .where(Order.org_id == org_id, col(Order.id) > after, *conditions)
                    .order_by(col(Order.id))
                    .limit(BATCH)
                )
            ).all()
            if not orders:
                return
            ids = [o.id for o in orders]
            stops: dict[tuple[int, StopKind], Stop] = {
                (s.order_id, StopKind(s.kind)): s
                for s in (await session.exec(select(Stop).where(col(Stop.order_id).in_(ids)))).all()
            }
            names = dict(
                (
                    await session.exec(
                        select(Driver.id, Driver.name).where(
                            col(Driver.id).in_({o.driver_id for o in orders if o.driver_id})
                        )
                    )
                ).all()
            )
        rows = []
        for order in orders:
            assert order.id is not None
            drop = stops.get((order.id, StopKind.DROPOFF)) or stops.get((order.id, StopKind.PICKUP))
            pickup = stops.get((order.id, StopKind.PICKUP))
            rows.append(
                (
                    order.id,
                    order.reference,
                    order.status,
                    order.recipient_name,
                    order.recipient_phone,
                    order.recipient_email,
                    drop.address if drop else None,
                    drop.lat if drop else None,
                    drop.lng if drop else None,
                    drop.window_start if drop else None,
                    drop.window_end if drop else None,
                    pickup.address if pickup and pickup is not drop else None,
                    order.weight_kg,
                    order.volume_m3,
                    order.priority,
                    order.driver_id,
                    names.get(order.driver_id),
                    drop.route_id if drop else None,
                    drop.planned_arrival_at if drop else None,
                    drop.actual_arrival_at if drop else None,
                    drop.actual_departure_at if drop else None,
                    order.created_at,
                    order.updated_at,
                )
            )
        yield csv_text(rows)
        after = orders[-1].id or after
        await asyncio.sleep(0)


@router.get(
    "/orders.csv", response_class=StreamingResponse, responses={**_CSV, **ERRORS(401, 403, 422)}
)
async def orders_csv(
    principal: StaffUser,
    state: StateDep,
    date_from: Annotated[date | None, Query(description="created on or after (UTC day)")] = None,
    date_to: Annotated[date | None, Query(description="created on or before (UTC day)")] = None,
    status: Annotated[list[OrderStatus] | None, Query()] = None,
) -> StreamingResponse:
    """The organisation's orders created in the range (default: the last 30 days, at most
    366), oldest first: recipient, drop-off address and window, driver, route, planned
    and actual times. Cells a spreadsheet would take for a formula start with ``'``."""
    start, end = _range(date_from, date_to)
    conditions = [col(Order.created_at) >= start, col(Order.created_at) < end]
    if status:
        conditions.append(col(Order.status).in_(status))
    name = f"orders-{start.date()}-{(end - timedelta(days=1)).date()}.csv"
    return StreamingResponse(
        _order_rows(state, principal.org_id, conditions),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(name),
    )


async def _event_rows(
    state: Any, org_id: int, start: datetime, end: datetime
) -> AsyncIterator[str]:
    yield csv_text([EVENT_COLUMNS])
    after = 0
    while True:
        async with session_scope(state.engine) as session:
            found = (
                await session.exec(
                    select(OrderEvent, Order.reference)
                    .join(Order, col(Order.id) == col(OrderEvent.order_id))
                    .where(
                        OrderEvent.org_id == org_id,
                        col(OrderEvent.id) > after,
                        col(OrderEvent.at) >= start,
                        col(OrderEvent.at) < end,
                    )
                    .order_by(col(OrderEvent.id))
                    .limit(BATCH)
                )
            ).all()
        if not found:
            return
        yield csv_text(
            (
                e.id,
                e.order_id,
                reference,
                e.kind,
                e.from_status,
                e.to_status,
                e.at,
                e.actor_role,
                e.lat,
                e.lng,
                e.details or None,
            )
            for e, reference in found
        )
        after = found[-1][0].id or after
        await asyncio.sleep(0)


@router.get(
    "/events.csv", response_class=StreamingResponse, responses={**_CSV, **ERRORS(401, 403, 422)}
)
async def events_csv(
    principal: StaffUser,
    state: StateDep,
    date_from: Annotated[date | None, Query(description="on or after (UTC day)")] = None,
    date_to: Annotated[date | None, Query(description="on or before (UTC day)")] = None,
) -> StreamingResponse:
    """Every order event in the range (default: the last 30 days, at most 366), in the
    order they happened: status changes with who made them, proofs, failures, notes."""
    start, end = _range(date_from, date_to)
    name = f"events-{start.date()}-{(end - timedelta(days=1)).date()}.csv"
    return StreamingResponse(
        _event_rows(state, principal.org_id, start, end),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(name),
    )


async def _route_parts(
    route_id: int, org_id: int, session: SessionDep, state: Any
) -> tuple[Route, str, list[RouteStop], list[Point]]:
    route = await get_in_org(session, Route, route_id, org_id, label="route")
    found = (
        await session.exec(
            select(Stop, Order.reference)
            .join(Order, col(Order.id) == col(Stop.order_id))
            .where(Stop.route_id == route.id)
            .order_by(col(Stop.sequence))
        )
    ).all()
    stops = [
        RouteStop(
            sequence=n,
            stop_id=s.id or 0,
            order_id=s.order_id,
            reference=reference,
            kind=StopKind(s.kind).value,
            address=s.address,
            lat=s.lat,
            lng=s.lng,
            window_start=s.window_start,
            window_end=s.window_end,
            planned_arrival_at=s.planned_arrival_at,
            actual_arrival_at=s.actual_arrival_at,
        )
        for n, (s, reference) in enumerate(found, start=1)
    ]
    driver = await session.get(Driver, route.driver_id)
    name = f"{driver.name if driver else f'Driver {route.driver_id}'} {route.service_date}"
    path: list[Point] = []
    if len(stops) >= 2:
        try:
            road = await asyncio.to_thread(
                state.routing.route, [Point(s.lat, s.lng) for s in stops]
            )
            path = list(road.geometry)
        except RoutingError:
            path = [Point(s.lat, s.lng) for s in stops]  # straight lines, still useful
    return route, name, stops, path


@router.get(
    "/routes/{route_id}.geojson",
    response_class=JSONResponse,
    responses={200: {"content": {"application/geo+json": {}}}, **ERRORS(401, 403, 404)},
)
async def route_geojson_export(
    route_id: int, principal: StaffUser, session: SessionDep, state: StateDep
) -> JSONResponse:
    """A route as a GeoJSON FeatureCollection: its road path (LineString) and its stops in
    order (Points with sequence, order, kind, address, window, planned and actual times)."""
    route, name, stops, path = await _route_parts(route_id, principal.org_id, session, state)
    body = route_geojson(
        {
            "route_id": route.id,
            "name": name,
            "driver_id": route.driver_id,
            "service_date": route.service_date.isoformat(),
            "status": route.status,
        },
        stops,
        path,
    )
    return JSONResponse(
        body, media_type="application/geo+json", headers=_attachment(f"route-{route.id}.geojson")
    )


@router.get(
    "/routes/{route_id}.gpx",
    response_class=Response,
    responses={200: {"content": {"application/gpx+xml": {}}}, **ERRORS(401, 403, 404)},
)
async def route_gpx_export(
    route_id: int, principal: StaffUser, session: SessionDep, state: StateDep
) -> Response:
    """A route as GPX 1.1: the stops as a ``rte`` (for navigation apps) and the road path
    as a ``trk``."""
    route, name, stops, path = await _route_parts(route_id, principal.org_id, session, state)
    return Response(
        route_gpx(name, stops, path),
        media_type="application/gpx+xml",
        headers=_attachment(f"route-{route.id}.gpx"),
    )
