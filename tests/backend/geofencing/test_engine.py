"""The geofence engine on its own: enter, exit and dwell with accuracy and hysteresis."""

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.geofencing.engine import Fence, GeofenceEngine, Scope, Transition
from backend.geofencing.shapes import Circle, Corridor, Polygon, Shape
from backend.locations.fix import DriverRef, Fix
from shared.geo import Point, haversine_m

CENTER = Point(43.7384, 7.4246)  # Monaco
M_PER_DEG = 111_195.0
ORG = 1
DRIVER = DriverRef(ORG, 7)


def north_of(metres: float, east: float = 0.0) -> Point:
    return Point(
        CENTER.lat + metres / M_PER_DEG,
        CENTER.lng + east / (M_PER_DEG * math.cos(math.radians(CENTER.lat))),
    )


def fix(at: Point, t: float, accuracy: float | None = 5.0) -> Fix:
    return Fix(at.lat, at.lng, t, t, accuracy_m=accuracy)


def stop_fence(dwell_s: float = 60.0) -> Fence:
    return Fence("stop:1:arrival", Circle(CENTER, 150.0), driver_id=7, dwell_s=dwell_s)


def transitions(engine: GeofenceEngine, fixes: list[Fix], driver: DriverRef = DRIVER) -> list[str]:
    return [f"{e.transition}" for e in engine.check(driver, fixes)]


def test_driving_in_and_out_fires_enter_then_exit_once() -> None:
    engine = GeofenceEngine()
    engine.put(stop_fence())
    track = [fix(north_of(d), t) for t, d in enumerate([900, 600, 300, 100, 20, 100, 300, 900])]
    events = engine.check(DRIVER, track)
    assert [(e.transition, e.fix.recorded_at) for e in events] == [
        (Transition.ENTER, 3),  # 100 m: inside with its 5 m accuracy
        (Transition.EXIT, 7),  # the second fix beyond 150 m + the 30 m band
    ]
    assert all(e.fence.key == "stop:1:arrival" for e in events)


def test_the_fix_accuracy_counts_against_entering() -> None:
    engine = GeofenceEngine()
    engine.put(stop_fence())
    assert transitions(engine, [fix(north_of(140), 1, accuracy=30)]) == []  # 140 + 30 > 150
    assert transitions(engine, [fix(north_of(140), 2, accuracy=8)]) == ["enter"]


def test_accuracy_is_capped_so_a_rough_fix_can_still_arrive() -> None:
    engine = GeofenceEngine()
    engine.put(stop_fence())
    # 300 m accuracy, at the stop: the cap (75 m, half the radius) lets it in.
    assert transitions(engine, [fix(north_of(10), 1, accuracy=300)]) == ["enter"]


def test_leaving_needs_the_whole_uncertainty_beyond_the_band() -> None:
    engine = GeofenceEngine()
    engine.put(stop_fence())
    assert transitions(engine, [fix(north_of(50), 1)]) == ["enter"]
    assert transitions(engine, [fix(north_of(170), 2)]) == []  # inside the 30 m band
    assert transitions(engine, [fix(north_of(200), 3, accuracy=40)]) == []  # 200 - 40 < 180
    assert transitions(engine, [fix(north_of(200), 4, accuracy=10)]) == []  # one fix beyond
    assert transitions(engine, [fix(north_of(210), 5, accuracy=10)]) == ["exit"]


def test_one_gps_jump_out_and_back_is_not_an_exit() -> None:
    engine = GeofenceEngine()
    engine.put(stop_fence(dwell_s=60))
    track = [fix(north_of(10), t) for t in range(0, 40, 5)]
    track.append(fix(north_of(400), 40))  # an outlier, 400 m off
    track += [fix(north_of(10), t) for t in range(45, 90, 5)]
    assert transitions(engine, track) == ["enter", "dwell"]  # the dwell timer kept running
    assert engine.inside(7) == {"stop:1:arrival"}


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    noise=st.floats(1.0, 12.0),
    accuracy=st.floats(3.0, 15.0),
)
def test_gps_jitter_at_the_border_fires_one_enter_and_no_exit(
    seed: int, noise: float, accuracy: float
) -> None:
    rng = random.Random(seed)
    engine = GeofenceEngine()
    engine.put(stop_fence(dwell_s=10_000))
    # Parked just inside the border, GPS wandering a few metres either side of it.
    track = [fix(north_of(130 + rng.gauss(0, noise)), t, accuracy) for t in range(1, 301)]
    fired = transitions(engine, [fix(north_of(20), 0), *track])
    assert fired == ["enter"]


def test_dwell_fires_once_after_the_driver_stayed_long_enough() -> None:
    engine = GeofenceEngine()
    engine.put(stop_fence(dwell_s=60))
    assert transitions(engine, [fix(north_of(30), 100)]) == ["enter"]
    assert transitions(engine, [fix(north_of(35), 130), fix(north_of(32), 159)]) == []
    assert transitions(engine, [fix(north_of(31), 160)]) == ["dwell"]
    assert transitions(engine, [fix(north_of(30), 400)]) == []
    assert transitions(engine, [fix(north_of(900), 410), fix(north_of(950), 415)]) == ["exit"]
    # Back again: a new visit, a new enter and a new dwell.
    assert transitions(engine, [fix(north_of(20), 500), fix(north_of(20), 560)]) == [
        "enter",
        "dwell",
    ]


SQUARE = (north_of(-400, -400), north_of(-400, 400), north_of(400, 400), north_of(400, -400))


def test_a_stop_fence_concerns_its_driver_only_a_zone_its_whole_organisation() -> None:
    engine = GeofenceEngine()
    engine.put(stop_fence())
    engine.put(Fence("zone:old-town", Polygon(SQUARE), org_id=ORG))
    other = [e.fence.key for e in engine.check(DriverRef(ORG, 8), [fix(north_of(0), 1)])]
    mine = sorted(e.fence.key for e in engine.check(DRIVER, [fix(north_of(0), 1)]))
    assert other == ["zone:old-town"]
    assert mine == ["stop:1:arrival", "zone:old-town"]
    assert engine.inside(7) == {"stop:1:arrival", "zone:old-town"}


def test_a_driver_never_fires_another_organisations_zone() -> None:
    engine = GeofenceEngine()
    engine.put(Fence("zone:a", Polygon(SQUARE), org_id=1))
    engine.put(Fence("depot:b", Circle(CENTER, 150), org_id=2))
    # Each drives straight through the middle of both: only their own organisation's fires.
    track = [fix(north_of(d), t) for t, d in enumerate([-900, -100, 0, 100, 900, 950])]
    of_a = engine.check(DriverRef(1, 10), track)
    of_b = engine.check(DriverRef(2, 20), track)
    assert [(e.fence.key, e.transition) for e in of_a] == [
        ("zone:a", Transition.ENTER),
        ("zone:a", Transition.EXIT),
    ]
    assert [(e.fence.key, e.transition) for e in of_b] == [
        ("depot:b", Transition.ENTER),
        ("depot:b", Transition.EXIT),
    ]
    assert engine.keys_of(Scope.org(1)) == {"zone:a"}
    assert engine.keys_of(Scope.org(2)) == {"depot:b"}


def test_a_fence_must_concern_a_driver_or_an_organisation() -> None:
    with pytest.raises(ValueError, match="concerns nobody"):
        Fence("zone:loose", Polygon(SQUARE))


def test_replacing_an_organisations_fences_leaves_drivers_and_other_orgs_alone() -> None:
    engine = GeofenceEngine()
    engine.put(stop_fence())
    engine.put(Fence("zone:a", Polygon(SQUARE), org_id=1))
    engine.put(Fence("zone:b", Polygon(SQUARE), org_id=2))
    engine.replace_scope(Scope.org(1), [Fence("depot:1", Circle(CENTER, 150), org_id=1)])
    assert engine.keys_of(Scope.org(1)) == {"depot:1"}
    assert engine.keys_of(Scope.org(2)) == {"zone:b"}
    assert engine.keys_of(Scope.driver(7)) == {"stop:1:arrival"}
    with pytest.raises(ValueError, match="belongs to"):
        engine.replace_scope(Scope.org(1), [Fence("zone:b", Polygon(SQUARE), org_id=2)])


def test_a_late_replay_moves_nobody() -> None:
    engine = GeofenceEngine()
    engine.put(stop_fence())
    assert transitions(engine, [fix(north_of(900), 50)]) == []
    # An offline batch from before: the driver was at the stop at t=10..20.
    assert transitions(engine, [fix(north_of(0), 10), fix(north_of(0), 20)]) == []
    assert engine.inside(7) == set()


def test_a_batch_out_of_order_is_checked_in_time_order() -> None:
    engine = GeofenceEngine()
    engine.put(stop_fence())
    batch = [fix(north_of(900), 4), fix(north_of(0), 2), fix(north_of(900), 1)]
    batch.append(fix(north_of(900), 3))
    assert [(e.transition, e.fix.recorded_at) for e in engine.check(DRIVER, batch)] == [
        (Transition.ENTER, 2),
        (Transition.EXIT, 4),
    ]


def test_a_removed_fence_fires_nothing_more() -> None:
    engine = GeofenceEngine()
    engine.put(stop_fence())
    assert transitions(engine, [fix(north_of(0), 1)]) == ["enter"]
    engine.remove("stop:1:arrival")
    assert transitions(engine, [fix(north_of(900), 2)]) == []
    assert engine.inside(7) == set()


def test_polygon_distances_are_metres_to_the_border() -> None:
    square = Polygon(
        (north_of(-100, -100), north_of(-100, 100), north_of(100, 100), north_of(100, -100))
    )
    inside = north_of(60)
    assert abs(square.signed_distance_m(*inside) - -40) < 0.5
    outside = north_of(0, 250)
    assert abs(square.signed_distance_m(*outside) - 150) < 1.0
    corner = north_of(130, 140)  # 30 m north and 40 m east of the corner: 50 m
    assert abs(square.signed_distance_m(*corner) - 50) < 0.5


def test_corridor_distance_is_from_the_line_minus_the_half_width() -> None:
    line = Corridor((north_of(0, -500), north_of(0, 500), north_of(500, 500)), half_width_m=25)
    assert abs(line.signed_distance_m(*north_of(10, 0)) - -15) < 0.5
    assert abs(line.signed_distance_m(*north_of(250, 540)) - 15) < 0.5
    far = north_of(-300, 0)
    expected = haversine_m(far, north_of(0, 0)) - 25
    assert abs(line.signed_distance_m(*far) - expected) < 0.01 * expected


def test_circle_distance_matches_the_great_circle_distance() -> None:
    circle = Circle(CENTER, 150)
    for metres, east in ((0, 0), (1_000, 0), (300, -400), (-2_000, 5_000)):
        p = north_of(metres, east)
        expected = haversine_m(CENTER, p) - 150
        assert abs(circle.signed_distance_m(*p) - expected) <= 0.005 * max(150, abs(expected))


def test_checks_per_fix_do_not_grow_with_the_fences_in_the_city() -> None:
    rng = random.Random(5)
    engine = GeofenceEngine()
    for n in range(10_000):  # stops all over a 20 x 20 km city, on 500 routes
        at = north_of(rng.uniform(-10_000, 10_000), rng.uniform(-10_000, 10_000))
        engine.put(Fence(f"stop:{n}:arrival", Circle(at, 150), driver_id=n % 500))
    for org in range(100, 200):  # other organisations' 2 x 2 km zones, one per 4 km²
        north, east = rng.uniform(-10_000, 10_000), rng.uniform(-10_000, 10_000)
        corners = ((-1, -1), (-1, 1), (1, 1), (1, -1))
        ring = tuple(north_of(north + 1_000 * a, east + 1_000 * b) for a, b in corners)
        engine.put(Fence(f"zone:{org}", Polygon(ring), org_id=org))
    track = [
        fix(north_of(rng.uniform(-10_000, 10_000), rng.uniform(-10_000, 10_000)), t)
        for t in range(2_000)
    ]
    for driver in range(20):
        engine.check(DriverRef(ORG, driver), track)
    per_fix = engine.evaluations / (20 * len(track))
    # Own stops near the fix only: not 10,000, not 20 per route, no other organisation's zone.
    assert per_fix < 1.0


@settings(max_examples=200, deadline=None)
@given(
    north=st.floats(-1_500, 1_500),
    east=st.floats(-1_500, 1_500),
    margin=st.floats(0, 200),
)
def test_within_and_beyond_agree_with_the_signed_distance(
    north: float, east: float, margin: float
) -> None:
    shapes: list[Shape] = [
        Circle(CENTER, 150),
        Polygon((north_of(-500, -500), north_of(-500, 500), north_of(0, 0), north_of(500, -500))),
        Corridor((north_of(0, -800), north_of(0, 800), north_of(700, 800)), half_width_m=40),
    ]
    p = north_of(north, east)
    for shape in shapes:
        distance = shape.signed_distance_m(*p)
        if abs(abs(distance) - margin) > 1e-6:  # not exactly on the edge of the test
            assert shape.within(*p, margin) == (distance <= -margin), shape
            assert shape.beyond(*p, margin) == (distance > margin), shape


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-1500, 1500), st.floats(-1500, 1500)), min_size=1, max_size=60),
    st.lists(st.integers(1, 12), min_size=1, max_size=30),
    st.integers(0, 2**32 - 1),
)
def test_batches_fire_the_same_events_as_single_fixes(
    walk: list[tuple[float, float]], sizes: list[int], seed: int
) -> None:
    """However a track is cut into batches (the app sends what it has), the events are
    those of the fixes checked one by one: passing over a batch far from every fence
    must not change what happens when it comes near one."""
    rng = random.Random(seed)
    fences = [
        Fence(
            f"stop:{k}",
            Circle(
                north_of(rng.uniform(-1200, 1200), rng.uniform(-1200, 1200)), rng.uniform(30, 300)
            ),
            driver_id=7,
            dwell_s=rng.choice([0.0, 20.0]),
        )
        for k in range(4)
    ]
    zone = Fence("zone:1", Circle(north_of(-800, 800), 250.0), org_id=ORG)
    track = [fix(north_of(n, e), float(t)) for t, (n, e) in enumerate(walk)]
    one_by_one, batched = GeofenceEngine(), GeofenceEngine()
    for engine in (one_by_one, batched):
        engine.put_all([*fences, zone])
    expected = [e for f in track for e in one_by_one.check(DRIVER, [f])]
    got, start, k = [], 0, 0
    while start < len(track):
        size = sizes[k % len(sizes)]
        got.extend(batched.check(DRIVER, track[start : start + size]))
        start, k = start + size, k + 1
    assert [(e.fence.key, e.transition, e.fix) for e in got] == [
        (e.fence.key, e.transition, e.fix) for e in expected
    ]
