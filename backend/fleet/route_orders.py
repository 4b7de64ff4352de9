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
unassigns it or plans it elsewhere. Raises AppErrors; never commits.
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


async def assign_to_driver(
    session: AsyncSession,
    principal: Principal,
    route: Route,
    stop_ids: Collection[int] | None = None,
) -> int:
    """Assign the still unassigned orders on ``route`` (live) to its driver, all or none
    (409 if another driver has one of them): the orders of every stop on it, or only of
    ``stop_ids`` (stops just added). Returns how many were assigned."""
    on_route = select(Stop.order_id).where(Stop.route_id == route.id)
    if stop_ids is not None:
        if not stop_ids:
            return 0
        on_route = on_route.where(col(Stop.id).in_(sorted(stop_ids)))
    orders = {
        o.id: o
        for o in (
            await session.exec(
                select(Order).where(col(Order.id).in_(on_route)).order_by(col(Order.id))
            )
        ).all()
        if o.id is not None
    }
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
