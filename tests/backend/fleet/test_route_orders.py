"""Which orders a route going live hands to its driver, and which it must not take."""

import pytest

from backend.fleet.route_orders import OnRoute, goes_live, handover
from shared.enums import OrderStatus, RouteStatus

S = OrderStatus
R = RouteStatus
ME, OTHER = 1, 2


@pytest.mark.parametrize(
    ("previous", "current", "live"),
    [
        (R.DRAFT, R.PUBLISHED, True),
        (R.DRAFT, R.IN_PROGRESS, True),
        (R.COMPLETED, R.PUBLISHED, True),
        (R.DRAFT, R.DRAFT, False),
        (R.PUBLISHED, R.PUBLISHED, False),  # a published route edited: not published again
        (R.PUBLISHED, R.IN_PROGRESS, False),
        (R.PUBLISHED, R.DRAFT, False),
        (R.IN_PROGRESS, R.COMPLETED, False),
    ],
)
def test_a_route_goes_live_when_it_reaches_its_driver(
    previous: RouteStatus, current: RouteStatus, live: bool
) -> None:
    assert goes_live(previous, current) is live


def test_new_orders_become_the_drivers_and_the_rest_stay_as_they_are() -> None:
    plan = handover(
        ME,
        [
            OnRoute(12, S.CREATED, None),
            OnRoute(10, S.CREATED, None),
            OnRoute(11, S.ASSIGNED, ME),  # mine already
            OnRoute(13, S.EN_ROUTE, ME),
            OnRoute(14, S.FAILED, OTHER),  # a failed visit is dispatch's call, not taken
            OnRoute(15, S.DELIVERED, OTHER),
            OnRoute(10, S.CREATED, None),  # pickup and drop-off: one order
        ],
    )
    assert plan.to_assign == (10, 12)
    assert plan.elsewhere == ()


@pytest.mark.parametrize(
    "status", [S.ASSIGNED, S.EN_ROUTE_TO_PICKUP, S.PICKED_UP, S.EN_ROUTE, S.ARRIVING]
)
def test_an_order_another_driver_has_is_never_taken(status: OrderStatus) -> None:
    plan = handover(ME, [OnRoute(7, S.CREATED, None), OnRoute(8, status, OTHER)])
    assert plan.elsewhere == (8,)
    assert plan.to_assign == (7,)  # the caller refuses the whole route
