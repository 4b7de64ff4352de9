"""Off-route detection: the path index on its own, then one driver's detector."""

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.geofencing.deviation import (
    DeviationChange,
    DeviationConfig,
    DeviationDetector,
    PlannedPath,
)
from backend.geofencing.shapes import Plane
from backend.locations.fix import Fix
from shared.enums import DriverEventKind
from shared.geo import Point

CENTER = Point(43.7384, 7.4246)  # Monaco
M_PER_DEG = 111_195.0
OFF = DriverEventKind.OFF_ROUTE
BACK = DriverEventKind.BACK_ON_ROUTE


def at(east: float, north: float) -> Point:
    """The point ``east`` and ``north`` metres from the centre."""
    return Point(
        CENTER.lat + north / M_PER_DEG,
        CENTER.lng + east / (M_PER_DEG * math.cos(math.radians(CENTER.lat))),
    )


def polyline(*corners: tuple[float, float], step_m: float = 20.0) -> list[Point]:
    """Road-like geometry through ``corners`` (east, north in metres): a point every
    ``step_m``, as a routing engine returns it."""
    points = [at(*corners[0])]
    for (ax, ay), (bx, by) in itertools.pairwise(corners):
        steps = max(1, round(math.hypot(bx - ax, by - ay) / step_m))
        points += [
            at(ax + (bx - ax) * k / steps, ay + (by - ay) * k / steps) for k in range(1, steps + 1)
        ]
    return points


STRAIGHT = PlannedPath(polyline((0, 0), (5_000, 0)))  # 5 km due east
L_SHAPED = PlannedPath(polyline((0, 0), (3_000, 0), (3_000, 3_000)))  # east, then north


def fix(east: float, north: float, t: float, accuracy: float | None = 10.0) -> Fix:
    p = at(east, north)
    return Fix(p.lat, p.lng, t, t, accuracy_m=accuracy)


def feed(detector: DeviationDetector, fixes: list[Fix]) -> list[DeviationChange]:
    return [change for f in fixes if (change := detector.update(f)) is not None]


def drive(
    offsets: list[float], speed_mps: float = 10.0, accuracy: float = 10.0, start: float = 0.0
) -> list[Fix]:
    """A fix a second, driving east along ``STRAIGHT``, ``offsets[t]`` metres north of it."""
    return [fix(speed_mps * t, north, start + t, accuracy) for t, north in enumerate(offsets)]


def detour(before_s: int, off_s: int, after_s: int, away_m: float = 300.0) -> list[float]:
    """On the path, a 20 s turn onto a parallel street ``away_m`` north for ``off_s``
    seconds, and back the same way."""
    turn = [away_m * k / 20 for k in range(1, 20)]
    return [0.0] * before_s + turn + [away_m] * off_s + turn[::-1] + [0.0] * after_s


# The path index


def brute_force(path: PlannedPath, p: Point) -> float:
    """Metres from ``p`` to the path, measuring every segment (in CENTER's plane)."""
    plane = Plane.at(CENTER)
    px, py = plane.xy(p.lat, p.lng)
    best = math.inf
    for a, b in itertools.pairwise(path.points + path.points[-1:]):
        ax, ay = plane.xy(a.lat, a.lng)
        bx, by = plane.xy(b.lat, b.lng)
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
        best = min(best, math.hypot(px - ax - t * dx, py - ay - t * dy))
    return best


def test_distance_and_along_on_a_straight_path() -> None:
    found = STRAIGHT.nearest(*at(1_000, 50), search_m=300)
    assert found is not None
    assert found.distance_m == pytest.approx(50, abs=0.5)
    assert found.along_m == pytest.approx(1_000, abs=1)
    assert STRAIGHT.length_m == pytest.approx(5_000, rel=1e-3)
    # Beyond either end: the distance to the end point.
    assert STRAIGHT.distance_m(*at(-300, 400)) == pytest.approx(500, abs=2)


def test_distance_and_along_on_an_l_shaped_path() -> None:
    found = L_SHAPED.nearest(*at(2_900, 1_000), search_m=300)  # 100 m west of the second leg
    assert found is not None
    assert found.distance_m == pytest.approx(100, abs=1)
    assert found.along_m == pytest.approx(4_000, abs=2)
    inside = L_SHAPED.nearest(*at(2_800, 100), search_m=300)  # nearer the first leg
    assert inside is not None
    assert inside.distance_m == pytest.approx(100, abs=1)
    assert inside.along_m == pytest.approx(2_800, abs=2)


def test_on_a_path_that_runs_over_itself_the_first_passage_wins() -> None:
    out_and_back = PlannedPath(polyline((0, 0), (1_000, 0), (0, 0)))
    found = out_and_back.nearest(*at(500, 30), search_m=300)
    assert found is not None
    assert found.along_m == pytest.approx(500, abs=1)
    assert out_and_back.length_m == pytest.approx(2_000, abs=2)


def test_nothing_within_the_search_radius_is_none_or_infinite() -> None:
    assert STRAIGHT.nearest(*at(2_000, 400), search_m=300) is None
    assert STRAIGHT.distance_m(*at(2_000, 400), search_m=300) == math.inf
    assert STRAIGHT.distance_m(*at(2_000, 400)) == pytest.approx(400, abs=2)
    # Far outside the grid, the unbounded search still finds the path.
    assert STRAIGHT.distance_m(*at(2_000, 60_000)) == pytest.approx(60_000, rel=0.01)


def test_a_single_point_is_a_path() -> None:
    path = PlannedPath([at(0, 0)])
    assert len(path) == 1
    assert path.distance_m(*at(30, 40)) == pytest.approx(50, abs=0.5)


def test_a_path_needs_points_and_a_cell_size() -> None:
    with pytest.raises(ValueError, match="at least one point"):
        PlannedPath([])
    with pytest.raises(ValueError, match="above 0"):
        PlannedPath([at(0, 0)], cell_m=0)


def winding_path(points: int, seed: int = 5) -> PlannedPath:
    """A ``points``-point drive through a city: 25 m steps, turning gently, kept within
    a 12 km square, so it crosses and runs along itself the way a day's route does."""
    rng = random.Random(seed)
    x = y = 0.0
    heading = 0.0
    corners = []
    for _ in range(points):
        corners.append(at(x, y))
        heading += rng.gauss(0, 0.3)
        if abs(x) > 6_000 or abs(y) > 6_000:
            heading = math.atan2(-y, -x) + rng.uniform(-0.5, 0.5)  # back towards the centre
        x, y = x + 25 * math.cos(heading), y + 25 * math.sin(heading)
    return PlannedPath(corners)


def test_a_long_path_is_answered_from_a_few_segments() -> None:
    path = winding_path(10_000)
    assert len(path) == 9_999
    rng = random.Random(11)
    examined = []
    for n in range(400):
        vertex = path.points[rng.randrange(len(path.points))]
        # GPS noise around the path, or a street or two away from it.
        offset_m = rng.uniform(0, 30) if n % 2 else rng.uniform(200, 400)
        angle = rng.uniform(0, 2 * math.pi)
        p = Point(
            vertex.lat + offset_m * math.sin(angle) / M_PER_DEG,
            vertex.lng
            + offset_m * math.cos(angle) / (M_PER_DEG * math.cos(math.radians(vertex.lat))),
        )
        found = path.nearest(p.lat, p.lng, search_m=400)
        assert found is not None
        if n < 40:  # measuring all 9,999 segments is slow: check a sample
            assert found.distance_m == pytest.approx(brute_force(path, p), abs=0.5)
        examined.append(found.examined)
    # A few cells of a path that crosses and runs along itself, never the 9,999 segments.
    assert sum(examined) / len(examined) < 50
    assert max(examined) < 300


@settings(max_examples=150, deadline=None)
@given(
    corners=st.lists(
        st.tuples(st.floats(-3_000, 3_000), st.floats(-3_000, 3_000)), min_size=1, max_size=30
    ),
    segment=st.integers(0, 1_000),
    share=st.floats(0, 1),
    cell_m=st.sampled_from([10.0, 75.0, 250.0, 2_000.0]),
)
def test_a_point_on_any_segment_is_at_distance_zero(
    corners: list[tuple[float, float]], segment: int, share: float, cell_m: float
) -> None:
    path = PlannedPath([at(*c) for c in corners], cell_m=cell_m)
    a = path.points[min(segment, len(path.points) - 1)]
    b = path.points[min(segment + 1, len(path.points) - 1)]
    p = Point(a.lat + (b.lat - a.lat) * share, a.lng + (b.lng - a.lng) * share)
    found = path.nearest(p.lat, p.lng, search_m=1.0)
    assert found is not None
    assert found.distance_m < 1e-3
    assert 0 <= found.along_m <= path.length_m + 1e-6


@settings(max_examples=150, deadline=None)
@given(
    corners=st.lists(
        st.tuples(st.floats(-3_000, 3_000), st.floats(-3_000, 3_000)), min_size=1, max_size=30
    ),
    query=st.tuples(st.floats(-8_000, 8_000), st.floats(-8_000, 8_000)),
    search_m=st.one_of(st.floats(0, 5_000), st.just(math.inf)),
    cell_m=st.sampled_from([10.0, 75.0, 250.0, 2_000.0]),
    lazy=st.booleans(),
)
def test_the_index_agrees_with_measuring_every_segment(
    corners: list[tuple[float, float]],
    query: tuple[float, float],
    search_m: float,
    cell_m: float,
    lazy: bool,
) -> None:
    path = PlannedPath([at(*c) for c in corners], cell_m=cell_m, lazy=lazy)
    p = at(*query)
    exact = brute_force(path, p)
    found = path.distance_m(p.lat, p.lng, search_m)
    # Metre-scale slack: the path's plane is centred on its box, the brute force's on CENTER.
    if exact < search_m - 5:
        assert found == pytest.approx(exact, rel=2e-3, abs=0.01)
    elif exact > search_m + 5:
        assert found == math.inf


# One driver's detector


def test_a_driver_on_the_path_with_gps_noise_never_fires() -> None:
    rng = random.Random(3)
    for path, legs in (
        (STRAIGHT, [(0, 0), (5_000, 0)]),
        (L_SHAPED, [(0, 0), (3_000, 0), (3_000, 3_000)]),
    ):
        detector = DeviationDetector(path)
        fixes = []
        t = 0
        for (ax, ay), (bx, by) in itertools.pairwise(legs):
            steps = round(math.hypot(bx - ax, by - ay) / 8)  # 8 m/s, a fix a second
            for k in range(steps):
                east = ax + (bx - ax) * k / steps + rng.uniform(-30, 30)
                north = ay + (by - ay) * k / steps + rng.uniform(-30, 30)
                fixes.append(fix(east, north, t, accuracy=rng.uniform(5, 30)))
                t += 1
        assert feed(detector, fixes) == []
        assert not detector.off_route


def test_a_parallel_street_300_m_away_for_90_s_fires_once_then_back_once() -> None:
    detector = DeviationDetector(STRAIGHT)
    fixes = drive(detour(before_s=60, off_s=90, after_s=60))
    changes = feed(detector, fixes)
    assert [c.kind for c in changes] == [OFF, BACK]
    off, back = changes
    # Off from the first fix beyond 200 m + its 10 m accuracy, reported a minute later.
    first_off = next(f for f in fixes if STRAIGHT.distance_m(f.lat, f.lng) > 210)
    assert off.left_at == first_off.recorded_at
    assert off.fix.recorded_at == first_off.recorded_at + 60
    assert off.distance_m == pytest.approx(300, abs=2)
    assert off.along_m == pytest.approx(10 * off.fix.recorded_at, abs=2)
    # Back once within 100 m (half the threshold) with the accuracy counted.
    assert back.left_at == off.left_at
    assert back.distance_m + 10 <= 100
    assert STRAIGHT.distance_m(back.fix.lat, back.fix.lng) == pytest.approx(back.distance_m)
    assert not detector.off_route
    assert detector.left_at is None


def test_off_for_50_s_then_back_does_not_fire() -> None:
    fixes = drive(detour(before_s=30, off_s=40, after_s=120))
    off = [f.recorded_at for f in fixes if STRAIGHT.distance_m(f.lat, f.lng) - 10 > 200]
    assert off[-1] - off[0] == pytest.approx(50, abs=1)  # the turns take the rest
    assert feed(DeviationDetector(STRAIGHT), fixes) == []


def test_jitter_at_the_threshold_does_not_flap() -> None:
    rng = random.Random(8)
    detector = DeviationDetector(STRAIGHT)
    offsets = [300.0] * 80 + [rng.uniform(150, 260) for _ in range(600)]  # around 200 m
    assert [c.kind for c in feed(detector, drive(offsets, speed_mps=5))] == [OFF]
    assert detector.off_route


def test_poor_accuracy_fixes_do_not_fire() -> None:
    # 300 m from the path, but each fix says it may be 150 m wrong: never clearly off.
    vague = DeviationDetector(STRAIGHT)
    assert feed(vague, drive([300.0] * 180, accuracy=150)) == []
    assert vague.left_at is None
    # The same positions with sharp fixes are a deviation.
    assert [c.kind for c in feed(DeviationDetector(STRAIGHT), drive([300.0] * 180))] == [OFF]


def test_a_vague_driver_on_the_path_never_fires() -> None:
    # The phone reports 150 m accuracy and is off by as much as that implies (68 % within
    # the accuracy): rare fixes land far away, but never a minute of them in a row.
    rng = random.Random(21)
    sigma = 150 / 1.51  # per axis, as Android defines the accuracy
    offsets = [math.hypot(rng.gauss(0, sigma), rng.gauss(0, sigma)) for _ in range(3_600)]
    assert max(offsets) > 350  # some would count as off on their own
    assert feed(DeviationDetector(STRAIGHT), drive(offsets, speed_mps=1, accuracy=150)) == []


def test_an_accuracy_cap_keeps_a_far_driver_off() -> None:
    detector = DeviationDetector(STRAIGHT, DeviationConfig(max_uncertainty_m=100))
    # 350 m away with a 200 m accuracy: only 100 m of it excuses the distance.
    assert [c.kind for c in feed(detector, drive([350.0] * 61, accuracy=200))] == [OFF]


def test_a_fix_that_cannot_tell_leaves_the_timer_running() -> None:
    detector = DeviationDetector(STRAIGHT)
    fixes = drive([300.0] * 30) + drive([300.0] * 31, accuracy=120, start=30)  # 300-120 < 200
    fixes.append(fix(610, 300, 61))
    changes = feed(detector, fixes)
    assert [(c.kind, c.left_at, c.fix.recorded_at) for c in changes] == [(OFF, 0, 61)]


def test_a_fix_within_the_threshold_restarts_the_timer() -> None:
    detector = DeviationDetector(STRAIGHT)
    assert feed(detector, drive([300.0] * 40 + [150.0] + [300.0] * 59)) == []
    assert detector.left_at == 41
    assert [c.kind for c in feed(detector, [fix(1_010, 300, 101)])] == [OFF]


def test_late_and_repeated_fixes_are_ignored() -> None:
    detector = DeviationDetector(STRAIGHT)
    assert feed(detector, drive([300.0] * 50)) == []
    # A replay from earlier, on the path: it neither restarts the timer nor fires.
    assert detector.update(fix(100, 0, 10)) is None
    assert detector.update(fix(490, 300, 49)) is None  # the same time again
    assert detector.left_at == 0
    changes = feed(detector, drive([300.0] * 11, start=50))
    assert [(c.kind, c.fix.recorded_at) for c in changes] == [(OFF, 60)]
    # Once off, a late fix on the path does not bring the driver back.
    assert detector.update(fix(0, 0, 30)) is None
    assert detector.off_route


def test_no_path_no_events() -> None:
    detector = DeviationDetector()
    assert feed(detector, drive([3_000.0] * 300)) == []
    assert not detector.off_route


def test_a_new_plan_restarts_an_unreported_deviation_silently() -> None:
    detector = DeviationDetector(STRAIGHT)
    assert feed(detector, drive([300.0] * 50)) == []
    # Re-optimised: the new plan is the street the driver is on.
    detector.replace_path(PlannedPath(polyline((0, 300), (5_000, 300))))
    assert detector.left_at is None
    assert feed(detector, drive([300.0] * 100, start=50)) == []


def test_a_new_plan_does_not_repeat_a_reported_deviation() -> None:
    detector = DeviationDetector(STRAIGHT)
    assert [c.kind for c in feed(detector, drive([300.0] * 70))] == [OFF]
    # A plan that is still elsewhere: still off, reported once.
    detector.replace_path(PlannedPath(polyline((0, -500), (5_000, -500))))
    assert feed(detector, drive([300.0] * 100, start=70)) == []
    assert detector.off_route
    # A plan along the driver's street: the deviation is over, once.
    detector.replace_path(PlannedPath(polyline((0, 300), (5_000, 300))))
    changes = feed(detector, drive([300.0] * 30, start=170))
    assert [(c.kind, c.left_at) for c in changes] == [(BACK, 0)]


def test_dropping_the_plan_forgets_the_deviation() -> None:
    detector = DeviationDetector(STRAIGHT)
    assert [c.kind for c in feed(detector, drive([300.0] * 70))] == [OFF]
    detector.replace_path(None)
    assert not detector.off_route
    assert detector.left_at is None
    detector.replace_path(STRAIGHT)
    assert feed(detector, drive([0.0] * 30, start=70)) == []


def test_a_far_deviation_reports_the_exact_distance() -> None:
    detector = DeviationDetector(STRAIGHT)
    changes = feed(detector, drive([2_000.0] * 61))
    assert len(changes) == 1
    assert changes[0].distance_m == pytest.approx(2_000, abs=10)
    assert changes[0].along_m == pytest.approx(600, abs=2)


def test_config_defaults_and_validation() -> None:
    config = DeviationConfig(threshold_m=300)
    assert (config.back_on_m, config.max_uncertainty_m, config.min_duration_s) == (150, 300, 60)
    with pytest.raises(ValueError, match="threshold"):
        DeviationConfig(threshold_m=0)
    with pytest.raises(ValueError, match="back-on"):
        DeviationConfig(threshold_m=100, back_on_m=150)
    with pytest.raises(ValueError, match="duration"):
        DeviationConfig(min_duration_s=-1)


@settings(max_examples=100, deadline=None)
@given(
    offsets=st.lists(st.floats(0, 600), max_size=300),
    accuracies=st.lists(st.floats(0, 200), min_size=1, max_size=20),
    step_s=st.floats(0.5, 30),
)
def test_events_alternate_and_each_deviation_lasted_long_enough(
    offsets: list[float], accuracies: list[float], step_s: float
) -> None:
    detector = DeviationDetector(STRAIGHT)
    fixes = [
        fix(10 * t, north, t * step_s, accuracies[t % len(accuracies)])
        for t, north in enumerate(offsets)
    ]
    changes = feed(detector, fixes)
    assert [c.kind for c in changes] == [OFF, BACK] * (len(changes) // 2) + [OFF] * (
        len(changes) % 2
    )
    for change in changes:
        if change.kind == OFF:
            assert change.fix.recorded_at - change.left_at >= 60
            assert change.distance_m - min(change.fix.accuracy_m or 0, 200) > 200
        else:
            assert change.distance_m + min(change.fix.accuracy_m or 0, 200) <= 100
    assert detector.off_route == (len(changes) % 2 == 1)
