"""Judging a change to a driver's stops without a road network: arrivals, lateness, and
where a new order's stops go."""

from hypothesis import given
from hypothesis import strategies as st

from backend.optimization.change_eval import Visit, insert, walk

# Five places on a line, 100 s apart: place i to place j takes 100 * |i - j| seconds.
LINE = [[100.0 * abs(i - j) for j in range(5)] for i in range(5)]


def at(place: int, stop_id: int | None = None, **kw: float) -> Visit:
    return Visit(stop_id or place, stop_id or place, place, kw.pop("service_s", 10.0), **kw)


def test_arrivals_add_driving_service_and_waiting_for_the_window() -> None:
    route = walk(0, 1000.0, [at(1), at(2, window_start=1500.0), at(4)], LINE)
    assert [e.eta for e in route.etas] == [1100.0, 1210.0, 1710.0]  # waits at 2 until 1500
    assert route.drive_s == 400.0
    assert route.late == ()


def test_a_stop_reached_after_its_window_closes_is_late() -> None:
    route = walk(0, 0.0, [at(4), at(1, window_end=200.0)], LINE)
    assert [e.stop_id for e in route.late] == [1]
    assert route.score()[0] == 1
    assert route.late[0].late_by_s == 710.0 - 200.0


def test_a_new_stop_goes_where_it_adds_least_driving() -> None:
    placed = insert([at(1), at(3)], None, at(2), start_point=0, start_s=0.0, durations=LINE)
    assert [v.point for v in placed] == [1, 2, 3]


def test_a_tight_window_beats_a_shorter_drive() -> None:
    # Place 4 is cheapest last, but its window closes before the others are done.
    urgent = at(4, window_end=405.0)
    placed = insert([at(1), at(2)], None, urgent, start_point=0, start_s=0.0, durations=LINE)
    assert [v.point for v in placed] == [4, 1, 2]
    assert walk(0, 0.0, placed, LINE).late == ()


def test_a_pickup_goes_before_its_dropoff() -> None:
    pickup, dropoff = at(3, stop_id=30), at(1, stop_id=31)
    placed = insert([at(2)], pickup, dropoff, start_point=0, start_s=0.0, durations=LINE)
    ids = [v.stop_id for v in placed]
    assert ids.index(30) < ids.index(31)


@given(st.lists(st.integers(0, 4), max_size=5), st.integers(0, 4), st.integers(0, 4))
def test_insertion_keeps_the_other_stops_in_their_order(
    places: list[int], new: int, start: int
) -> None:
    visits = [at(p, stop_id=k + 1) for k, p in enumerate(places)]
    placed = insert(
        visits, None, at(new, stop_id=99), start_point=start, start_s=0.0, durations=LINE
    )
    assert [v for v in placed if v.stop_id != 99] == visits
    assert len(placed) == len(visits) + 1
    best = walk(start, 0.0, placed, LINE).score()
    for k in range(len(visits) + 1):  # no other place is better
        other = [*visits[:k], at(new, stop_id=99), *visits[k:]]
        assert best <= walk(start, 0.0, other, LINE).score()
