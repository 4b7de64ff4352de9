"""A simulated driver waits for a window to open, and serves each stop at its address even
when the engine's leg distances are off."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.routing.results import Route
from backend.simulator.motion import Trajectory, simulate_motion
from backend.simulator.runner import DriverPlan, PlannedStop, SimulationConfig, build_run
from shared.geo import Point, haversine_m
from tests.backend.simulator.streets import BOULEVARD_ALBERT_1ER, CITY_SPEED_MPS, path_length_m

START = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
B = BOULEVARD_ALBERT_1ER
NOISE = SimulationConfig().motion.service_time_noise


def street_route(geometry: Sequence[Point], ends: Sequence[int], off: Sequence[float]) -> Route:
    """The engine's answer for driving ``geometry`` with a leg ending at each index of
    ``ends``; each leg's distance misreported by the factor in ``off``."""
    true_m, start = [], 0
    for end in ends:
        true_m.append(path_length_m(geometry[start : end + 1]))
        start = end
    reported = [d * f for d, f in zip(true_m, off, strict=True)]
    return Route(
        duration_s=sum(true_m) / CITY_SPEED_MPS,
        distance_m=sum(reported),
        geometry=list(geometry),
        leg_durations_s=[d / CITY_SPEED_MPS for d in true_m],
        leg_distances_m=reported,
    )


def day(stops: tuple[PlannedStop, ...], seed: int = 0) -> Trajectory:
    """Drive the boulevard from its start, serving ``stops`` (at vertices 8, 15, 25)."""
    plan = DriverPlan(driver_id=1, start=B[0], stops=stops, start_at=START)
    route = street_route(B, [8, 15, 25], [1.0, 1.0, 1.0])
    return build_run(plan, route, SimulationConfig(seed=seed)).trajectory


def stand_point(trajectory: Trajectory, visit: int) -> Point:
    v = trajectory.visits[visit]
    return trajectory.position_at((v.arrived_s + v.departed_s) / 2).point


@pytest.mark.parametrize("seed", range(5))
def test_a_driver_early_for_a_window_waits_for_it_at_the_stop_then_serves(seed: int) -> None:
    opens_s = 600.0  # the first stop is a minute's drive away; its window opens at 8:10
    trajectory = day(
        (
            PlannedStop(B[8], 120.0, START + timedelta(seconds=opens_s)),
            PlannedStop(B[15], 60.0),
            PlannedStop(B[25], 90.0, START - timedelta(hours=1)),  # open all along
        ),
        seed,
    )
    first, second, third = trajectory.visits

    assert first.arrived_s < 120.0
    assert opens_s + 120.0 * (1 - NOISE) <= first.departed_s <= opens_s + 120.0 * (1 + NOISE)
    for t in np.linspace(first.arrived_s, first.departed_s, 20):
        assert haversine_m(trajectory.position_at(float(t)).point, B[8]) < 1.0
    assert second.departed_s - second.arrived_s <= 60.0 * (1 + NOISE)
    assert third.departed_s - third.arrived_s <= 90.0 * (1 + NOISE)


def test_without_a_window_the_driver_serves_at_once() -> None:
    trajectory = day((PlannedStop(B[8], 120.0), PlannedStop(B[15], 60.0), PlannedStop(B[25], 90.0)))

    first = trajectory.visits[0]
    assert first.departed_s - first.arrived_s <= 120.0 * (1 + NOISE)


@pytest.mark.parametrize("off", [(1.2, 0.8, 1.2), (0.8, 1.2, 0.8), (1.2, 1.2, 0.8)])
def test_each_stop_is_served_where_the_road_passes_it_though_the_legs_are_mismeasured(
    off: tuple[float, float, float],
) -> None:
    plan = DriverPlan(
        driver_id=1,
        start=B[0],
        stops=(PlannedStop(B[8], 120.0), PlannedStop(B[15], 60.0), PlannedStop(B[25], 90.0)),
        start_at=START,
    )
    route = street_route(B, [8, 15, 25], off)

    trajectory = build_run(plan, route, SimulationConfig()).trajectory

    for visit, stop in enumerate(plan.stops):
        assert haversine_m(stand_point(trajectory, visit), stop.point) < 1.0
    # Scaling the misreported legs alone would have put a stop tens of metres away.
    scaled = simulate_motion(
        route.geometry,
        route.leg_distances_m,
        route.leg_durations_s,
        plan.service_times_s,
        np.random.default_rng(0),
        START,
    )
    missed = [haversine_m(stand_point(scaled, i), s.point) for i, s in enumerate(plan.stops)]
    assert max(missed) > 20.0


def test_a_stop_on_a_road_driven_twice_is_served_on_the_right_pass() -> None:
    # Up the boulevard to its end, then back down: stop 2 (vertex 8) is passed on the way
    # up, but is only due on the way back.
    out_and_back = [*B, *B[-2::-1]]
    back_at_8 = len(B) - 1 + (len(B) - 1 - 8)
    plan = DriverPlan(
        driver_id=1,
        start=B[0],
        stops=(PlannedStop(B[25], 60.0), PlannedStop(B[8], 60.0)),
        start_at=START,
        end=B[0],
    )
    route = street_route(out_and_back, [25, back_at_8, len(out_and_back) - 1], [0.8, 1.2, 1.0])

    trajectory = build_run(plan, route, SimulationConfig()).trajectory

    up, down, _ = trajectory.visits
    assert haversine_m(stand_point(trajectory, 0), B[25]) < 1.0
    assert haversine_m(stand_point(trajectory, 1), B[8]) < 1.0
    drive_back_s = path_length_m(B[8:]) / CITY_SPEED_MPS
    assert down.arrived_s - up.departed_s > 0.5 * drive_back_s
    assert haversine_m(trajectory.position_at(trajectory.duration_s).point, B[0]) < 1.0
