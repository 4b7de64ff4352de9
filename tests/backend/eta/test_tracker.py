"""One driver's ETAs over the day: when it routes, what it publishes, what it learns."""

import itertools
import math
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.eta.estimate import StopPlan
from backend.eta.tracker import EtaUpdate, RoutedStop, RouteEtas
from backend.locations.fix import Fix
from backend.routing.results import Route
from shared.geo import Point, haversine_m
from tests.backend.simulator.streets import CITY_SPEED_MPS, StraightRouting

T0 = 1_780_000_000.0  # epoch seconds
DEPOT = Point(43.70, 7.25)  # Nice
M_PER_DEG_LAT = 111_195.0


def at(north_m: float, east_m: float = 0.0) -> Point:
    """A point ``north_m`` / ``east_m`` metres from the depot."""
    scale = M_PER_DEG_LAT * math.cos(math.radians(DEPOT.lat))
    return Point(DEPOT.lat + north_m / M_PER_DEG_LAT, DEPOT.lng + east_m / scale)


def fix(point: Point, t: float, accuracy_m: float = 10.0) -> Fix:
    return Fix(point.lat, point.lng, t, t, speed_mps=CITY_SPEED_MPS, accuracy_m=accuracy_m)


def stop(
    stop_id: int,
    point: Point,
    *,
    service_s: float = 120.0,
    window_start: float | None = None,
    window_end: float | None = None,
    arrived_at: float | None = None,
) -> RoutedStop:
    plan = StopPlan(stop_id, 100 + stop_id, service_s, window_start, window_end, arrived_at)
    return RoutedStop(point, plan)


def by_stop(update: EtaUpdate | None) -> dict[int, float]:
    assert update is not None
    return {e.stop_id: e.eta for e in update.etas}


A, B, C = at(2_000), at(3_000), at(4_000)  # stops up a straight road, 1 km apart
DRIVE_A_S = haversine_m(DEPOT, A) / CITY_SPEED_MPS


def started() -> tuple[RouteEtas, StraightRouting, dict[int, float]]:
    etas, routing = RouteEtas(), StraightRouting()
    etas.set_stops([stop(1, A), stop(2, B), stop(3, C)], T0)
    return etas, routing, by_stop(etas.refresh(fix(DEPOT, T0), routing))


def test_the_first_etas_drive_the_route_and_serve_each_stop() -> None:
    _, routing, first = started()

    leg_s = 1_000 / CITY_SPEED_MPS
    assert first[1] == pytest.approx(T0 + DRIVE_A_S, abs=1.0)
    assert first[2] == pytest.approx(first[1] + 120 + leg_s, abs=1.0)
    assert first[3] == pytest.approx(first[2] + 120 + leg_s, abs=1.0)
    assert routing.calls == [[DEPOT, A, B, C]]  # the whole plan in one route


@pytest.mark.parametrize("sideways_m", [0.0, 25.0, -30.0])
def test_following_the_leg_the_eta_is_the_time_left_along_it_without_routing(
    sideways_m: float,
) -> None:
    etas, routing, first = started()

    for north_m in (400.0, 1_000.0, 1_700.0):
        now = T0 + north_m / CITY_SPEED_MPS
        got = by_stop(etas.refresh(fix(at(north_m, sideways_m), now), routing))

        time_left_s = (2_000.0 - north_m) / CITY_SPEED_MPS
        assert got[1] == pytest.approx(now + time_left_s, abs=1.0)
        assert got[1] == pytest.approx(first[1], abs=1.0)  # on schedule: the ETA holds
    assert len(routing.calls) == 1


@given(
    along=st.floats(min_value=0.0, max_value=1.0),
    sideways_m=st.floats(min_value=-35.0, max_value=35.0),
    accuracy_m=st.floats(min_value=3.0, max_value=40.0),
)
def test_gps_noise_near_the_leg_never_triggers_routing_nor_moves_the_eta_by_much(
    along: float, sideways_m: float, accuracy_m: float
) -> None:
    etas, routing, _ = started()
    now = T0 + 60.0

    got = by_stop(etas.refresh(fix(at(2_000.0 * along, sideways_m), now, accuracy_m), routing))

    assert len(routing.calls) == 1
    assert got[1] == pytest.approx(now + 2_000.0 * (1 - along) / CITY_SPEED_MPS, abs=1.0)


class GridRouting:
    """Roads on a grid: east first, then north, at ``CITY_SPEED_MPS``; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def route(self, waypoints: Sequence[Point]) -> Route:
        self.calls += 1
        line = [waypoints[0]]
        for a, b in itertools.pairwise(waypoints):
            line += [Point(a.lat, b.lng), b]
        legs_m = [
            haversine_m(a, Point(a.lat, b.lng)) + haversine_m(Point(a.lat, b.lng), b)
            for a, b in itertools.pairwise(waypoints)
        ]
        return Route(
            duration_s=sum(legs_m) / CITY_SPEED_MPS,
            distance_m=sum(legs_m),
            geometry=line,
            leg_durations_s=[d / CITY_SPEED_MPS for d in legs_m],
            leg_distances_m=legs_m,
        )


def test_the_time_left_is_read_along_the_road_not_as_the_crow_flies() -> None:
    etas, routing = RouteEtas(), GridRouting()
    target = at(1_000, 1_000)  # 1 km east then 1 km north by road
    etas.set_stops([stop(1, target)], T0)
    first = by_stop(etas.refresh(fix(DEPOT, T0), routing))
    assert first[1] == pytest.approx(T0 + 2_000 / CITY_SPEED_MPS, abs=1.0)

    now = T0 + 500 / CITY_SPEED_MPS
    quarter = by_stop(etas.refresh(fix(at(0, 500), now), routing))  # 1.1 km off, 1.5 km to go

    assert quarter[1] == pytest.approx(now + 1_500 / CITY_SPEED_MPS, abs=1.0)
    assert routing.calls == 1


def test_a_driver_who_leaves_the_leg_is_routed_again_from_where_they_are() -> None:
    etas, routing, _ = started()
    detour = at(800, 400)  # a diversion four blocks east
    now = T0 + 200

    got = by_stop(etas.refresh(fix(detour, now), routing))

    assert len(routing.calls) == 2
    assert routing.calls[-1] == [detour, A]
    assert got[1] == pytest.approx(now + haversine_m(detour, A) / CITY_SPEED_MPS, abs=1.0)
    # The new leg is then followed like the first one.
    back_on = Point((detour.lat + A.lat) / 2, (detour.lng + A.lng) / 2)
    etas.refresh(fix(back_on, now + 30), routing)
    assert len(routing.calls) == 2


def test_an_arrival_and_the_stop_done_need_no_routing_the_planned_legs_remain() -> None:
    etas, routing, _ = started()
    arrived = T0 + DRIVE_A_S  # on the engine's time: the pace stays 1
    etas.set_stops([stop(1, A, arrived_at=arrived), stop(2, B), stop(3, C)], arrived)

    at_a = by_stop(etas.refresh(fix(A, arrived + 10), routing))

    assert len(routing.calls) == 1
    assert at_a[1] == arrived
    assert at_a[2] == pytest.approx(arrived + 120 + 1_000 / CITY_SPEED_MPS, abs=1.0)

    etas.set_stops([stop(2, B), stop(3, C)], arrived + 100)
    after = by_stop(etas.refresh(fix(A, arrived + 100), routing))

    assert len(routing.calls) == 1  # A to B and B to C: the plan's legs, from the stop left
    assert after[2] == pytest.approx(arrived + 100 + 1_000 / CITY_SPEED_MPS, abs=1.0)

    etas.set_stops([stop(3, C, arrived_at=arrived + 400)], arrived + 400)
    assert by_stop(etas.refresh(fix(C, arrived + 410), routing)) == {3: arrived + 400}
    assert len(routing.calls) == 1  # at the last stop: nothing left to route


def test_without_stops_there_is_nothing_to_compute() -> None:
    etas, routing = RouteEtas(), StraightRouting()

    assert not etas.due(fix(DEPOT, T0))
    assert etas.refresh(fix(DEPOT, T0), routing) is None
    assert routing.calls == []


def test_a_recomputation_is_due_on_new_stops_after_a_while_or_after_moving() -> None:
    etas, routing, _ = started()

    assert not etas.due(fix(at(50), T0 + 10))  # moments later, a few metres on
    assert etas.due(fix(at(50), T0 + 30))  # half a minute later
    assert etas.due(fix(at(160), T0 + 10))  # 150 m on
    etas.set_stops([stop(2, B), stop(3, C)], T0 + 10)
    assert etas.due(fix(DEPOT, T0 + 10))  # the stops changed
    etas.refresh(fix(DEPOT, T0 + 10), routing)
    assert not etas.due(fix(DEPOT, T0 + 11))


def two_stops(legs: list[float], now: float, etas: RouteEtas) -> EtaUpdate:
    return etas.update(fix(DEPOT, now), legs)


def test_only_etas_moved_by_a_minute_or_more_are_published() -> None:
    etas = RouteEtas()
    etas.set_stops([stop(1, A), stop(2, B)], T0)

    first = two_stops([600.0, 300.0], T0, etas)
    assert [e.stop_id for e in first.changed] == [1, 2]  # new: everything is published

    steady = two_stops([590.0, 300.0], T0 + 10, etas)
    assert steady.changed == []

    slipped = two_stops([620.0, 300.0], T0 + 20, etas)  # 40 s later than published
    assert slipped.changed == []
    slipped = two_stops([630.0, 300.0], T0 + 30, etas)  # 60 s later than published
    assert [(e.stop_id, e.eta) for e in slipped.changed] == [(1, T0 + 660), (2, T0 + 1_080)]

    earlier = two_stops([530.0, 300.0], T0 + 40, etas)  # 90 s sooner
    assert [e.stop_id for e in earlier.changed] == [1, 2]


def test_a_stop_added_to_the_route_has_its_eta_published_at_once() -> None:
    etas = RouteEtas()
    etas.set_stops([stop(1, A)], T0)
    two_stops([600.0], T0, etas)
    etas.set_stops([stop(1, A), stop(2, B)], T0 + 10)

    update = two_stops([590.0, 300.0], T0 + 10, etas)

    assert [e.stop_id for e in update.changed] == [2]


@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=3_000), st.floats(min_value=0, max_value=3_000)),
        min_size=1,
        max_size=30,
    )
)
def test_the_eta_a_customer_sees_is_never_a_minute_off_the_latest_computed(
    legs: list[tuple[float, float]],
) -> None:
    etas = RouteEtas()
    etas.set_stops([stop(1, A), stop(2, B)], T0)
    shown: dict[int, float] = {}
    for k, (first_s, second_s) in enumerate(legs):
        update = two_stops([first_s, second_s], T0 + 15 * k, etas)
        published = {e.stop_id for e in update.changed}
        for eta in update.etas:
            if eta.stop_id in published:
                assert eta.stop_id not in shown or abs(eta.eta - shown[eta.stop_id]) >= 60
                shown[eta.stop_id] = eta.eta
            assert abs(eta.eta - shown[eta.stop_id]) < 60


def test_late_risk_is_raised_once_per_stop() -> None:
    etas = RouteEtas()
    etas.set_stops([stop(1, A, window_end=T0 + 500), stop(2, B, window_end=T0 + 5_000)], T0)

    first = two_stops([600.0, 300.0], T0, etas)
    assert [(e.stop_id, e.late_by_s) for e in first.late] == [(1, 100.0)]

    assert two_stops([700.0, 300.0], T0 + 30, etas).late == []  # still late: said already
    assert two_stops([100.0, 300.0], T0 + 60, etas).late == []  # back in time
    assert two_stops([700.0, 300.0], T0 + 90, etas).late == []  # late again: said already

    stuck = two_stops([600.0, 4_500.0], T0 + 120, etas)
    assert [e.stop_id for e in stuck.late] == [2]


def test_a_driver_already_at_a_stop_raises_no_late_risk_for_it() -> None:
    etas = RouteEtas()
    arrived = T0 + 900
    etas.set_stops([stop(1, A, window_end=T0 + 600, arrived_at=arrived)], arrived)

    assert two_stops([0.0], arrived + 10, etas).late == []


def after_one_leg(
    *, first_update_at: float, arrived_at: float, reported_at: float, expected_s: float = 600.0
) -> float:
    """B's ETA just after the driver reached A on a leg the engine priced ``expected_s``."""
    etas = RouteEtas()
    etas.set_stops([stop(1, A), stop(2, B)], T0)
    two_stops([expected_s, 300.0], first_update_at, etas)
    etas.set_stops([stop(1, A, arrived_at=arrived_at), stop(2, B)], reported_at)
    update = two_stops([0.0, 300.0], reported_at, etas)
    departure = update.etas[0].departure
    return update.etas[1].eta - departure  # the drive from A to B as now expected


def test_a_driver_on_the_engines_pace_keeps_the_engines_times() -> None:
    drive_s = after_one_leg(first_update_at=T0, arrived_at=T0 + 600, reported_at=T0 + 600)

    assert drive_s == pytest.approx(300.0)


def test_a_slow_leg_makes_the_next_legs_slower_and_a_quick_one_quicker() -> None:
    slow = after_one_leg(first_update_at=T0, arrived_at=T0 + 1_200, reported_at=T0 + 1_200)
    quick = after_one_leg(first_update_at=T0, arrived_at=T0 + 400, reported_at=T0 + 400)

    assert 1.2 * 300 < slow < 2.0 * 300
    assert 0.6 * 300 < quick < 0.9 * 300


def test_the_leg_starts_at_the_first_update_after_the_stop_became_the_next() -> None:
    # Five minutes at the depot before the first fix of the leg: not part of the leg.
    drive_s = after_one_leg(first_update_at=T0 + 300, arrived_at=T0 + 900, reported_at=T0 + 900)

    assert drive_s == pytest.approx(300.0)


def test_the_leg_ends_when_the_driver_arrived_not_when_it_was_reported() -> None:
    drive_s = after_one_leg(first_update_at=T0, arrived_at=T0 + 600, reported_at=T0 + 720)

    assert drive_s == pytest.approx(300.0)


def test_a_leg_with_a_lunch_break_in_it_teaches_nothing() -> None:
    drive_s = after_one_leg(first_update_at=T0, arrived_at=T0 + 4_000, reported_at=T0 + 4_000)

    assert drive_s == pytest.approx(300.0)


def test_a_stop_done_without_an_arrival_seen_teaches_no_pace() -> None:
    etas = RouteEtas()
    etas.set_stops([stop(1, A), stop(2, B)], T0)
    two_stops([600.0, 300.0], T0, etas)
    etas.set_stops([stop(2, B)], T0 + 1_200)  # confirmed without a geofence arrival

    update = two_stops([300.0], T0 + 1_200, etas)

    assert update.etas[0].eta == pytest.approx(T0 + 1_500)


def last_eta_after_a_visit(
    *, served_s: float, delivery_known: bool = True, window_start: float | None = None
) -> float:
    """How long from now until C once A is done: the driver was at A since T0 and left it
    ``served_s`` later (A's planned service: 120 s); the server hears of it at T0 + 900."""
    etas = RouteEtas()
    etas.set_stops(
        [stop(1, A, arrived_at=T0, window_start=window_start), stop(2, B), stop(3, C)], T0
    )
    two_stops([0.0, 300.0, 300.0], T0, etas)
    departed = {1: T0 + served_s} if delivery_known else None
    now = T0 + 900  # the delivery reached the server late (the phone was offline)
    etas.set_stops([stop(2, B), stop(3, C)], now, departed)
    update = two_stops([300.0, 300.0], now, etas)
    assert update.etas[0].eta == now + 300
    return update.etas[1].eta - now


PLAN_C_S = 300.0 + 120.0 + 300.0  # drive to B, serve B, drive to C


def test_a_stop_that_took_longer_than_planned_makes_the_later_stops_later() -> None:
    on_plan = last_eta_after_a_visit(served_s=120.0)
    slow = last_eta_after_a_visit(served_s=420.0)

    assert on_plan == pytest.approx(PLAN_C_S)
    assert PLAN_C_S < slow < PLAN_C_S + 300.0  # learnt, but one slow doorstep is damped


def test_the_time_at_a_stop_is_taken_from_the_delivery_when_given() -> None:
    from_delivery = last_eta_after_a_visit(served_s=120.0)
    from_report = last_eta_after_a_visit(served_s=120.0, delivery_known=False)  # 900 s there

    assert from_delivery == pytest.approx(PLAN_C_S)
    assert from_report > PLAN_C_S


def test_waiting_for_a_window_to_open_is_not_a_slow_stop() -> None:
    waited = last_eta_after_a_visit(served_s=420.0, window_start=T0 + 300)

    assert waited == pytest.approx(PLAN_C_S)
