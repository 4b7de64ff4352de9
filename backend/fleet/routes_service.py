"""Routes: a driver's ordered stops for a day. Raises AppErrors; never commits.

Every change is announced, once committed, on the channel of the route's driver (and of
the driver it was taken from) as ``{"type": "route_changed", "route_id", "change":
"created" | "updated" | "deleted", "service_date"}``: their app reloads the day. A route
going live assigns its unassigned orders to its driver, and so do stops added to a live
route; a live route given to another driver takes its orders along
(:mod:`backend.fleet.route_orders`).
"""

from collections.abc import Sequence
from typing import Literal

import orjson
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.crud import reference_in_org
from backend.db import after_commit
from backend.errors import BadRequestError, ConflictError
from backend.fleet.route_orders import LIVE, assign_to_driver, change_driver, goes_live
from backend.models import Driver, Order, Route, Stop, Vehicle
from backend.notifications.hook import on_route_published
from backend.webhooks.outbox import enqueue_route_published
from shared.channels import driver_channel
from shared.enums import RouteStatus, StopKind
from shared.lifecycle import TERMINAL
from shared.schemas.fleet import RouteCreate, RouteOut, RouteStopIn, RouteUpdate
from shared.schemas.orders import StopOut


async def _place_stops(
    session: AsyncSession, route: Route, wanted: Sequence[RouteStopIn]
) -> frozenset[int]:
    """Put exactly ``wanted`` on ``route`` in that order, taking off what was there before.
    Returns the stops that were not on it."""
    assert route.id is not None
    ids = [w.stop_id for w in wanted]
    if len(set(ids)) != len(ids):
        raise BadRequestError("stops: a stop appears twice in the route")
    stops = {
        s.id: s
        for s in (await session.exec(select(Stop).where(col(Stop.id).in_(ids)))).all()
        if s.org_id == route.org_id
    }
    missing = [i for i in ids if i not in stops]
    if missing:
        raise BadRequestError(f"stops: {missing} do not exist in this organisation")
    elsewhere = sorted(
        i for i, s in stops.items() if i is not None and s.route_id not in (None, route.id)
    )
    if elsewhere:
        raise ConflictError(
            f"stops {elsewhere} are already on another route; take them off it first"
        )
    orders = {
        o.id: o
        for o in (
            await session.exec(
                select(Order).where(col(Order.id).in_({s.order_id for s in stops.values()}))
            )
        ).all()
    }
    # A finished order's stop may keep its place on its own route (the sequence of a day in
    # progress is rewritten around what is done), not join another.
    closed = sorted(
        i
        for i, s in stops.items()
        if i is not None and orders[s.order_id].status in TERMINAL and s.route_id != route.id
    )
    if closed:
        raise ConflictError(f"stops {closed} belong to orders that are finished")
    position: dict[tuple[int, StopKind], int] = {}
    for seq, stop_id in enumerate(ids):
        stop = stops[stop_id]
        position[(stop.order_id, StopKind(stop.kind))] = seq
    for (order_id, kind), seq in position.items():
        pickup_seq = position.get((order_id, StopKind.PICKUP))
        if kind is StopKind.DROPOFF and pickup_seq is not None and pickup_seq > seq:
            raise BadRequestError(f"stops: order {order_id}'s dropoff comes before its pickup")
    added = frozenset(i for i, s in stops.items() if i is not None and s.route_id != route.id)

    await session.exec(
        update(Stop)
        .where(col(Stop.route_id) == route.id)
        .values(route_id=None, sequence=None, planned_arrival_at=None)
    )
    for seq, item in enumerate(wanted):
        stop = stops[item.stop_id]
        stop.route_id, stop.sequence, stop.planned_arrival_at = (
            route.id,
            seq,
            item.planned_arrival_at,
        )
        session.add(stop)
    await session.flush()
    return added


def _announce(
    session: AsyncSession,
    route: Route,
    change: Literal["created", "updated", "deleted"],
    *drivers: int,
) -> None:
    """Tell the route's driver (and ``drivers``) once the change is committed."""
    message = orjson.dumps(
        {
            "type": "route_changed",
            "route_id": route.id,
            "change": change,
            "service_date": route.service_date.isoformat(),
        }
    )
    for driver_id in sorted({route.driver_id, *drivers}):
        after_commit(session, driver_channel(driver_id), message)


async def create_route(session: AsyncSession, principal: Principal, body: RouteCreate) -> Route:
    await reference_in_org(session, Driver, body.driver_id, principal.org_id, field="driver_id")
    await reference_in_org(session, Vehicle, body.vehicle_id, principal.org_id, field="vehicle_id")
    route = Route(org_id=principal.org_id, **body.model_dump(exclude={"stops"}))
    session.add(route)
    await session.flush()
    await _place_stops(session, route, body.stops)
    _announce(session, route, "created")
    await on_route_published(session, route)  # created published: customers hear of it
    await enqueue_route_published(session, route, None)
    return route


async def update_route(
    session: AsyncSession, principal: Principal, route: Route, body: RouteUpdate
) -> Route:
    """Apply ``body``; a route going live (a draft published) assigns its orders still
    ``created`` to its driver, as ``principal``, and so does a live route given new stops
    (their orders only), and a live route given to another driver takes the orders along
    (:func:`backend.fleet.route_orders.change_driver`); 409, nothing stored, if another
    driver has one of them."""
    changes = body.model_dump(exclude_unset=True, exclude={"stops"})
    if "driver_id" in changes:
        if body.driver_id is None:
            raise BadRequestError("driver_id: a route needs a driver")
        await reference_in_org(session, Driver, body.driver_id, route.org_id, field="driver_id")
    if "vehicle_id" in changes:
        await reference_in_org(session, Vehicle, body.vehicle_id, route.org_id, field="vehicle_id")
    previous_driver, previous_status = route.driver_id, route.status
    for key, value in changes.items():
        setattr(route, key, value)
    session.add(route)
    await session.flush()
    added = await _place_stops(session, route, body.stops) if body.stops is not None else None
    if goes_live(RouteStatus(previous_status), RouteStatus(route.status)):
        await assign_to_driver(session, principal, route)
    elif route.driver_id != previous_driver and route.status in LIVE:
        await change_driver(session, principal, route, previous_driver)
    elif added and route.status in LIVE:
        await assign_to_driver(session, principal, route, added)
    _announce(session, route, "updated", previous_driver)
    if "status" in changes or body.stops is not None:
        await on_route_published(session, route)  # customers hear they are scheduled
    await enqueue_route_published(session, route, previous_status)
    return route


async def delete_route(session: AsyncSession, route: Route) -> None:
    await session.exec(
        update(Stop)
        .where(col(Stop.route_id) == route.id)
        .values(route_id=None, sequence=None, planned_arrival_at=None)
    )
    _announce(session, route, "deleted")
    await session.delete(route)
    await session.flush()


async def routes_out(session: AsyncSession, routes: Sequence[Route]) -> list[RouteOut]:
    ids = [r.id for r in routes]
    by_route: dict[int, list[Stop]] = {i: [] for i in ids if i is not None}
    if ids:
        rows = await session.exec(
            select(Stop).where(col(Stop.route_id).in_(ids)).order_by(col(Stop.sequence))
        )
        for stop in rows.all():
            assert stop.route_id is not None
            by_route[stop.route_id].append(stop)
    return [
        RouteOut.model_validate(
            {**r.model_dump(), "stops": [StopOut.model_validate(s) for s in by_route[r.id or 0]]}
        )
        for r in routes
    ]
