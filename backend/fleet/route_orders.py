"""A route going live hands its orders to its driver.

When a route becomes published (or in progress) from a draft, every order with a stop on it
that is still ``created`` is assigned to the route's driver through the ordinary
``created -> assigned`` transition (:mod:`backend.orders.transitions`); so are the orders of
stops added to a route already live (only theirs: what was on it before is left as it is).
The order's timeline, the customer's ``scheduled`` notice, the webhooks and the driver's
``order_changed`` message are the ones assigning by hand gives. An order another driver
has (assigned to them, or on its way with them) is never taken silently: the change is
refused (409) and nothing is stored; a dispatcher reassigns it on purpose
(``POST /dispatch/changes``) or leaves its stop off the route. A stop taken off a live
route leaves its order as it is: still its driver's, on no route, until a dispatcher
unassigns it or plans it elsewhere.

A live route given to another driver takes its orders along: those the previous driver
has but has not started (``assigned``) go back to ``created`` and on to the new driver,
each with its timeline events and both drivers' ``order_changed`` messages. An order
already on its way with the previous driver (picked up, being driven to) cannot change
van by a form: the change is refused (409) and nothing is stored. Raises AppErrors;
never commits.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.errors import ConflictError
from backend.models import Order, Route, Stop
from backend.orders.transitions import transition
from shared.enums import OrderStatus, RouteStatus
from shared.schemas.orders import TransitionRequest

S = OrderStatus
LIVE = frozenset({RouteStatus.PUBLISHED, RouteStatus.IN_PROGRESS})
# Statuses in which an order is in a driver's hands (or waiting in their list).
HELD = frozenset({S.ASSIGNED, S.EN_ROUTE_TO_PICKUP, S.PICKED_UP, S.EN_ROUTE, S.ARRIVING})


def goes_live(previous: RouteStatus, current: RouteStatus) -> bool:
    """Whether a route moving from ``previous`` to ``current`` is now given to its driver."""
    return previous not in LIVE and current in LIVE


@dataclass(frozen=True, slots=True)
class OnRoute:
    """An order with a stop on the route, as publishing sees it."""

    order_id: int
    status: OrderStatus
    driver_id: int | None


@dataclass(frozen=True, slots=True)
class Handover:
    """What publishing a route does to its orders: assigns ``to_assign``, unless some are
    ``elsewhere`` (another driver has them), which refuses the whole route."""

    to_assign: tuple[int, ...]
    elsewhere: tuple[int, ...]


def handover(driver_id: int, orders: Iterable[OnRoute]) -> Handover:
    """Which orders of a route going live become ``driver_id``'s, which belong to another
    driver; the rest (theirs already, failed, finished) are left as they are."""
    to_assign: set[int] = set()
    elsewhere: set[int] = set()
    for order in orders:
        if order.status is S.CREATED:
            to_assign.add(order.order_id)
        elif order.status in HELD and order.driver_id not in (None, driver_id):
            elsewhere.add(order.order_id)
    return Handover(tuple(sorted(to_assign)), tuple(sorted(elsewhere)))


def in_hands(
    previous_driver: int, orders: Iterable[OnRoute]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """For a live route going from ``previous_driver`` to another: the orders to take back
    from them (``assigned``, not started) and those already on their way with them."""
    take_back: set[int] = set()
    started: set[int] = set()
    for order in orders:
        if order.driver_id != previous_driver:
            continue
        if order.status is S.ASSIGNED:
            take_back.add(order.order_id)
        elif order.status in HELD:
            started.add(order.order_id)
    return tuple(sorted(take_back)), tuple(sorted(started))


async def _orders_on(
    session: AsyncSession, route: Route, stop_ids: Collection[int] | None = None
) -> dict[int, Order]:
    on_route = select(Stop.order_id).where(Stop.route_id == route.id)
    if stop_ids is not None:
        on_route = on_route.where(col(Stop.id).in_(sorted(stop_ids)))
    return {
        o.id: o
        for o in (
            await session.exec(
                select(Order).where(col(Order.id).in_(on_route)).order_by(col(Order.id))
            )
        ).all()
        if o.id is not None
    }


async def change_driver(
    session: AsyncSession, principal: Principal, route: Route, previous_driver: int
) -> int:
    """``route`` (live) now has another driver: give it every order on it that
    ``previous_driver`` has not started, and its unassigned ones; 409, nothing changed, if
    one is on its way with ``previous_driver`` or another driver has one. Returns how many
    orders were assigned to the new driver."""
    orders = await _orders_on(session, route)
    take_back, started = in_hands(
        previous_driver,
        (OnRoute(i, OrderStatus(o.status), o.driver_id) for i, o in orders.items()),
    )
    if started:
        raise ConflictError(
            f"orders {list(started)} on route {route.id} are on their way with driver "
            f"{previous_driver} (picked up or being driven to) and cannot change driver; "
            "take their stops off the route first, or keep its driver",
            code="orders_on_their_way",
            details={"route_id": route.id, "order_ids": list(started)},
        )
    # Taking an order back takes its stops off their route: put them back where they were.
    stops = (
        await session.exec(
            select(Stop).where(Stop.route_id == route.id, col(Stop.order_id).in_(take_back))
        )
    ).all()
    places = [(stop, stop.sequence, stop.planned_arrival_at) for stop in stops]
    to_created = TransitionRequest(to=S.CREATED)
    for order_id in take_back:
        await transition(session, principal, orders[order_id], to_created)
    for stop, sequence, planned_arrival_at in places:
        stop.route_id, stop.sequence, stop.planned_arrival_at = (
            route.id,
            sequence,
            planned_arrival_at,
        )
        session.add(stop)
    await session.flush()
    return await assign_to_driver(session, principal, route)


async def assign_to_driver(
    session: AsyncSession,
    principal: Principal,
    route: Route,
    stop_ids: Collection[int] | None = None,
) -> int:
    """Assign the still unassigned orders on ``route`` (live) to its driver, all or none
    (409 if another driver has one of them): the orders of every stop on it, or only of
    ``stop_ids`` (stops just added). Returns how many were assigned."""
    if stop_ids is not None and not stop_ids:
        return 0
    orders = await _orders_on(session, route, stop_ids)
    plan = handover(
        route.driver_id,
        (OnRoute(i, OrderStatus(o.status), o.driver_id) for i, o in orders.items()),
    )
    if plan.elsewhere:
        raise ConflictError(
            f"orders {list(plan.elsewhere)} on route {route.id} belong to other drivers; "
            f"give them to driver {route.driver_id} (dispatch changes) or keep their stops "
            "off the route",
            code="orders_of_another_driver",
            details={"route_id": route.id, "order_ids": list(plan.elsewhere)},
        )
    request = TransitionRequest(to=S.ASSIGNED, driver_id=route.driver_id)
    for order_id in plan.to_assign:
        await transition(session, principal, orders[order_id], request)
    return len(plan.to_assign)
