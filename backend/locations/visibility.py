"""Which orders' customers may see a driver: the orders of the current and the next stop.

The current stop is the first unfinished stop (by ``sequence``) of the driver's route for
today (UTC ``service_date``; an ``in_progress`` route first, then by planned start). A stop
is finished once its order has left the state that stop serves: a pickup once the parcel
is picked up (or the order ended), a dropoff once the order is delivered, failed or ended;
either once the driver has departed from it. Orders back at ``created`` (unassigned) are
not the driver's any more and are skipped.

:func:`visible_orders` is the pure rule; :func:`load` reads what it needs for many drivers
in two queries, so the fan-out can refresh its cache in bulk instead of once per fix.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Order, Route, Stop
from backend.sql_lists import padded
from shared.enums import OrderStatus, RouteStatus, StopKind
from shared.lifecycle import TERMINAL

VISIBLE_STOPS = 2  # the current stop and the next one
_PICKUP_DONE = TERMINAL | {
    OrderStatus.PICKED_UP,
    OrderStatus.EN_ROUTE,
    OrderStatus.ARRIVING,
    OrderStatus.FAILED,
    OrderStatus.RESCHEDULED,
}
_DROPOFF_DONE = TERMINAL | {OrderStatus.FAILED, OrderStatus.RESCHEDULED}
_CHUNK = 500  # ids per IN (...) list
# A dict look-up per row rather than an Enum call (~1 µs each, thousands every refresh).
# (StrEnums: a member and its value are the same key.)
_KINDS: dict[str, StopKind] = {k.value: k for k in StopKind}
_STATUSES: dict[str, OrderStatus] = {s.value: s for s in OrderStatus}
# Built once, the ids and the day bound at each call: ``in_()`` over a list clones its bind
# parameter into a reference cycle, and this runs every few seconds for the whole fleet
# (see ``backend/heap.py`` on why cycles should not be made on a steady path).
_ROUTES = sa_select(
    col(Route.id), col(Route.driver_id), col(Route.status), col(Route.planned_start_at)
).where(
    col(Route.driver_id).in_(bindparam("ids", expanding=True)),
    col(Route.service_date) == bindparam("service_date"),
    col(Route.status) != RouteStatus.COMPLETED,
)
_STOPS = (
    sa_select(
        col(Stop.route_id),
        col(Stop.order_id),
        col(Stop.kind),
        col(Stop.actual_departure_at),
        col(Order.status),
    )
    .join(Order, col(Order.id) == col(Stop.order_id))
    .where(col(Stop.route_id).in_(bindparam("route_ids", expanding=True)))
    .order_by(col(Stop.route_id), col(Stop.sequence))
)


@dataclass(frozen=True, slots=True)
class RouteStop:
    order_id: int
    kind: StopKind
    status: OrderStatus
    departed: bool


@dataclass(frozen=True, slots=True)
class DriverVisibility:
    """Orders whose customers see this driver now, and every order on today's route."""

    visible: frozenset[int]
    on_route: frozenset[int]


NOBODY = DriverVisibility(frozenset(), frozenset())


def stop_finished(stop: RouteStop) -> bool:
    if stop.departed or stop.status is OrderStatus.CREATED:
        return True
    done = _PICKUP_DONE if stop.kind is StopKind.PICKUP else _DROPOFF_DONE
    return stop.status in done


def visible_orders(stops: Sequence[RouteStop]) -> frozenset[int]:
    """Orders of the first ``VISIBLE_STOPS`` unfinished stops of ``stops`` (in sequence)."""
    unfinished = [s.order_id for s in stops if not stop_finished(s)]
    return frozenset(unfinished[:VISIBLE_STOPS])


def today() -> datetime:
    return datetime.now(UTC)


async def load(engine: AsyncEngine, driver_ids: Iterable[int]) -> dict[int, DriverVisibility]:
    """Visibility for each of ``driver_ids`` (``NOBODY`` for a driver without a route today).

    One short-lived session; never held across a socket's or a pipeline's lifetime.
    """
    ids = sorted(set(driver_ids))
    result = dict.fromkeys(ids, NOBODY)
    service_date = today().date()
    async with AsyncSession(engine, expire_on_commit=False) as session:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            result.update(await _load_chunk(session, chunk, service_date))
    return result


async def _load_chunk(
    session: AsyncSession, driver_ids: list[int], service_date: object
) -> dict[int, DriverVisibility]:
    connection = await session.connection()
    routes = (
        await connection.execute(_ROUTES, {"ids": padded(driver_ids), "service_date": service_date})
    ).all()
    if not routes:
        return {}
    stops_by_route: dict[int, list[RouteStop]] = {r[0]: [] for r in routes if r[0] is not None}
    # Columns, not Stop entities: this runs every few seconds for the whole fleet, and
    # building ORM objects for thousands of stops stalled the event loop for ~100 ms.
    rows = await connection.execute(_STOPS, {"route_ids": padded(list(stops_by_route))})
    for route_id, order_id, kind, departed_at, status in rows.all():
        assert route_id is not None
        stops_by_route[route_id].append(
            RouteStop(
                order_id,
                _KINDS.get(kind) or StopKind(kind),
                _STATUSES.get(status) or OrderStatus(status),
                departed_at is not None,
            )
        )
    ranked = sorted(
        routes,
        key=lambda r: (
            r[2] != RouteStatus.IN_PROGRESS,
            r[3] is None,
            r[3] or datetime.min.replace(tzinfo=UTC),
            r[0] or 0,
        ),
    )
    out: dict[int, DriverVisibility] = {}
    for route_id, driver_id, _status, _start in ranked:
        stops = stops_by_route.get(route_id or 0, [])
        on_route = frozenset(s.order_id for s in stops)
        previous = out.get(driver_id)
        if previous is not None and previous.visible:
            out[driver_id] = DriverVisibility(previous.visible, previous.on_route | on_route)
            continue
        merged = on_route | (previous.on_route if previous else frozenset())
        out[driver_id] = DriverVisibility(visible_orders(stops), merged)
    return out
