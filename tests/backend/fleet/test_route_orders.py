"""Which orders a route going live hands to its driver, and which it must not take; which
a live route given to another driver takes along, and which keep it with its driver."""

import pytest

from backend.fleet.route_orders import OnRoute, goes_live, handover, in_hands
from shared.enums import OrderStatus, RouteStatus

S = OrderStatus
R = RouteStatus
ME, OTHER, THIRD = 1, 2, 3


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


def test_a_route_changing_driver_takes_back_what_the_previous_one_has_not_started() -> None:
    take_back, started = in_hands(
        OTHER,
        [
            OnRoute(21, S.ASSIGNED, OTHER),
            OnRoute(20, S.ASSIGNED, OTHER),
            OnRoute(22, S.CREATED, None),  # nobody's: publishing's rules assign it
            OnRoute(23, S.DELIVERED, OTHER),  # done: stays in their day's history
            OnRoute(24, S.FAILED, OTHER),
            OnRoute(25, S.ASSIGNED, THIRD),  # a third driver's: publishing's rules refuse it
            OnRoute(20, S.ASSIGNED, OTHER),  # pickup and drop-off: one order
        ],
    )
    assert take_back == (20, 21)
    assert started == ()


@pytest.mark.parametrize("status", [S.EN_ROUTE_TO_PICKUP, S.PICKED_UP, S.EN_ROUTE, S.ARRIVING])
def test_an_order_on_its_way_keeps_the_route_with_its_driver(status: OrderStatus) -> None:
    take_back, started = in_hands(
        OTHER, [OnRoute(30, S.ASSIGNED, OTHER), OnRoute(31, status, OTHER)]
    )
    assert started == (31,)
    assert take_back == (30,)  # the caller refuses the change
