"""Comparing plans without I/O: totals walked on a given matrix, late stops, left-out orders."""

from backend.optimization.comparison import NOT_ON_A_ROUTE, RouteLine, Visit, side, walk

# Depot 0, stops 1 and 2: ten minutes (5 km) between any two distinct points.
DURATIONS = [[0 if a == b else 600 for b in range(3)] for a in range(3)]
DISTANCES = [[0 if a == b else 5000 for b in range(3)] for a in range(3)]


def route(*visits: Visit, start: int | None = 0, end: int | None = 0) -> RouteLine:
    return RouteLine(route_id=7, start_at=1000.0, visits=visits, start=start, end=end)


def test_a_round_trip_counts_every_leg_waits_and_service() -> None:
    line = route(
        Visit(11, 1, location=1, service_s=120, window_start=2000),  # waits 400 s
        Visit(12, 2, location=2, service_s=60),
    )
    totals = walk(line, DURATIONS, DISTANCES)
    assert totals.distance_m == 15_000
    assert totals.drive_s == 1800
    # leave 1000, arrive 1600, wait to 2000, serve to 2120, arrive 2720, serve to 2780,
    # back at the depot 3380.
    assert totals.working_s == 2380
    assert totals.late_order_ids == ()


def test_a_stop_reached_after_its_window_is_late() -> None:
    line = route(
        Visit(11, 1, location=1, service_s=120, window_end=1500),  # reached at 1600
        Visit(12, 2, location=2, service_s=60, window_end=2320),  # reached at 2320: in time
    )
    assert walk(line, DURATIONS, DISTANCES).late_order_ids == (1,)


def test_an_open_route_without_a_depot_starts_at_its_first_stop() -> None:
    line = route(
        Visit(11, 1, location=0, service_s=100), Visit(12, 2, location=1, service_s=0), start=None
    )
    line = RouteLine(line.route_id, line.start_at, line.visits, None, None)
    totals = walk(line, DURATIONS, DISTANCES)
    assert (totals.distance_m, totals.drive_s, totals.working_s) == (5000, 600, 700)


def test_an_empty_route_costs_nothing() -> None:
    totals = walk(route(), DURATIONS, DISTANCES)
    assert (totals.distance_m, totals.drive_s, totals.working_s) == (0, 0, 0)


def test_a_side_adds_its_routes_and_keeps_the_reasons() -> None:
    late = route(Visit(11, 1, location=1, service_s=0, window_end=1200))
    fine = route(Visit(12, 2, location=2, service_s=0))
    totals = side(
        [(late, DURATIONS, DISTANCES), (fine, DURATIONS, DISTANCES)],
        [(9, "over_capacity"), (3, NOT_ON_A_ROUTE)],
    )
    assert totals.routes == 2
    assert totals.stops == 2
    assert totals.distance_m == 20_000
    assert totals.drive_s == 2400
    assert totals.working_s == 2400
    assert totals.late_stops == 1
    assert totals.late_order_ids == (1,)
    assert totals.unassigned == ((3, NOT_ON_A_ROUTE), (9, "over_capacity"))


def test_no_routes_is_an_empty_side() -> None:
    totals = side([], [])
    assert (totals.routes, totals.stops, totals.distance_m, totals.late_stops) == (0, 0, 0, 0)


def test_stops_at_the_same_point_need_no_driving() -> None:
    zero = [[0, 0], [0, 0]]
    line = RouteLine(1, 0.0, (Visit(1, 1, 1, 30), Visit(2, 2, 1, 30)), start=0, end=0)
    totals = walk(line, zero, zero)
    assert (totals.drive_s, totals.working_s) == (0, 60)
