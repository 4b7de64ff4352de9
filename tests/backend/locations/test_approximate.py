"""What a customer sees of a driver: a coarse, steady cell centre (pure; no server)."""

import math

from hypothesis import given
from hypothesis import strategies as st

from backend.locations.approximate import GRID_M, HYSTERESIS_M, Approximator, cell_of
from shared.geo import Point, haversine_m

T0 = 1_900_000_000.0
M_PER_DEG_LAT = 111_320.0


@given(st.floats(-80, 80), st.floats(-179.9, 179.9))
def test_the_shown_position_is_a_cell_centre_near_the_driver(lat: float, lng: float) -> None:
    approx = Approximator()
    assert approx.position is None
    assert approx.update(lat, lng, T0)
    shown = approx.position
    assert shown is not None
    assert cell_of(*shown) == cell_of(lat, lng)  # the centre lies in the driver's cell
    # Never further than the cell's half-diagonal (plus rounding to 5 decimals, ~1 m).
    assert haversine_m(Point(lat, lng), Point(*shown)) <= GRID_M * math.sqrt(2) / 2 + 2


def test_jitter_on_a_cell_border_does_not_move_the_marker() -> None:
    approx = Approximator()
    lat = 43.73
    border = (cell_of(lat, 7.42).row + 1) * GRID_M / M_PER_DEG_LAT  # top edge of the cell
    approx.update(border - 1e-6, 7.42, T0)
    first = approx.position
    for k in range(1, 60):  # a minute waiting at a crossing, 10 m either side of the edge
        wobble = (10 if k % 2 else -10) / M_PER_DEG_LAT
        assert not approx.update(border + wobble, 7.42, T0 + k)
    assert approx.position == first


def test_a_driver_moving_on_moves_the_marker_once_well_outside_the_cell() -> None:
    approx = Approximator()
    approx.update(43.73, 7.42, T0)
    start = approx.position
    assert start is not None
    changes = 0
    for k in range(1, 61):  # 10 m/s north for a minute: 600 m
        changes += approx.update(43.73 + k * 10 / M_PER_DEG_LAT, 7.42, T0 + k)
    end = approx.position
    assert end is not None
    assert end[0] > start[0]
    assert 3 <= changes <= 7  # about one change per 100 m cell, not one per fix
    # The smoothed point trails the driver, but by less than two cells plus the hysteresis.
    assert (43.73 + 600 / M_PER_DEG_LAT - end[0]) * M_PER_DEG_LAT < 2 * GRID_M + HYSTERESIS_M


def test_an_older_fix_is_ignored_and_a_long_gap_restarts_at_the_new_place() -> None:
    approx = Approximator()
    approx.update(43.73, 7.42, T0)
    here = approx.position
    assert not approx.update(43.80, 7.42, T0 - 5)  # a replayed old fix
    assert approx.position == here
    assert approx.update(43.80, 7.42, T0 + 3600)  # an hour later, far away: no smoothing
    assert approx.position is not None
    assert cell_of(*approx.position) == cell_of(43.80, 7.42)
