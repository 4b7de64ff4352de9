"""Arrived, arriving, left: a driver's day around their stops, batch by batch, through the
fence engine and the stop rules the way the location pipeline runs them."""

import math
import random
from collections.abc import Callable, Sequence

from hypothesis import given
from hypothesis import strategies as st

from backend.geofencing.engine import GeofenceEngine, Scope
from backend.geofencing.route_fences import FenceRadii, OpenStop, route_fences
from backend.geofencing.stop_rules import ArrivalConfig, StopAction, StopActionKind, StopRules
from backend.locations.fix import DriverRef, Fix
from shared.enums import OrderStatus, StopKind
from shared.geo import Point, haversine_m

ORG, DRIVER = 1, 7
T0 = 1_780_000_000.0  # epoch seconds
UPLOAD_S = 15.0  # the phone uploads its fixes this often
EVERY_S = 2.0  # a fix this often
ACCURACY_M = 8.0
HOME = Point(43.7384, 7.4246)  # Monaco
M_PER_DEG_LAT = 111_195.0
CONFIG = ArrivalConfig()

ARRIVED, ARRIVING = StopActionKind.ARRIVED, StopActionKind.ARRIVING
DEPARTED, LEFT = StopActionKind.DEPARTED, StopActionKind.LEFT_WITHOUT_PROOF


def at(north_m: float, east_m: float = 0.0) -> Point:
    scale = M_PER_DEG_LAT * math.cos(math.radians(HOME.lat))
    return Point(HOME.lat + north_m / M_PER_DEG_LAT, HOME.lng + east_m / scale)


def dropoff(
    stop_id: int,
    point: Point,
    arrival_m: float | None = None,
    status: OrderStatus = OrderStatus.EN_ROUTE,
) -> OpenStop:
    kind = StopKind.DROPOFF
    return OpenStop(stop_id, 100 + stop_id, kind, point.lat, point.lng, arrival_m, status)


def pickup(stop_id: int, point: Point) -> OpenStop:
    status = OrderStatus.EN_ROUTE_TO_PICKUP
    return OpenStop(stop_id, 100 + stop_id, StopKind.PICKUP, point.lat, point.lng, None, status)


class Phone:
    """What a driver's phone records: a fix every ``EVERY_S`` while the driver moves and
    stands, nothing through a gap."""

    def __init__(self, start: Point, t: float = T0) -> None:
        self.here, self.t = start, t
        self.fixes: list[Fix] = []

    def record(self, p: Point, speed_mps: float, accuracy_m: float = ACCURACY_M) -> None:
        self.fixes.append(Fix(p.lat, p.lng, self.t, self.t, speed_mps, accuracy_m=accuracy_m))

    def drive_to(self, to: Point, speed_mps: float = 10.0) -> float:
        """Drive straight to ``to``; returns the arrival time (no fix there yet)."""
        span_s = haversine_m(self.here, to) / speed_mps
        start, origin = self.t, self.here
        steps = math.floor(span_s / EVERY_S)
        for k in range(1, steps + 1):
            f = k * EVERY_S / span_s
            self.t = start + k * EVERY_S
            self.record(
                Point(
                    origin.lat + f * (to.lat - origin.lat), origin.lng + f * (to.lng - origin.lng)
                ),
                speed_mps,
            )
        self.t, self.here = start + span_s, to
        return self.t

    def stand(self, seconds: float, jitter_m: float = 4.0, seed: int = 0) -> float:
        """Stand where the driver is (the fixes jitter); returns when the standing began."""
        began, rng = self.t, random.Random(seed)
        north = M_PER_DEG_LAT
        east = north * math.cos(math.radians(self.here.lat))
        while self.t < began + seconds:
            dn, de = rng.uniform(-jitter_m, jitter_m), rng.uniform(-jitter_m, jitter_m)
            self.record(Point(self.here.lat + dn / north, self.here.lng + de / east), 0.0)
            self.t += EVERY_S
        return began

    def outlier(self, north_m: float) -> None:
        """One fix thrown ``north_m`` off by a reflection, the driver not moving."""
        p = Point(self.here.lat + north_m / M_PER_DEG_LAT, self.here.lng)
        self.record(p, 0.0)
        self.t += EVERY_S

    def silent(self, seconds: float) -> None:
        self.t += seconds


Stops = Sequence[OpenStop] | Callable[[float], Sequence[OpenStop]]


class Day:
    """The server's side: the route's fences, the engine, the stop rules, fed per upload."""

    def __init__(self, config: ArrivalConfig = CONFIG) -> None:
        self.fences = GeofenceEngine()
        self.rules = StopRules(config)
        self.tick = -math.inf

    def play(self, fixes: Sequence[Fix], stops: Stops) -> list[StopAction]:
        """Upload ``fixes`` every ``UPLOAD_S``; ``stops``: the route's unfinished stops, or
        what they are at an upload's time."""
        new = [f for f in fixes if f.recorded_at > self.tick]
        if self.tick == -math.inf and new:
            self.tick = new[0].recorded_at
        found: list[StopAction] = []
        i = 0
        while i < len(new):
            self.tick += UPLOAD_S
            j = i
            while j < len(new) and new[j].recorded_at <= self.tick:
                j += 1
            batch, i = new[i:j], j
            if not batch:
                continue
            now = list(stops(self.tick) if callable(stops) else stops)
            self.fences.replace_scope(Scope.driver(DRIVER), route_fences(DRIVER, now, FenceRadii()))
            events = self.fences.check(DriverRef(ORG, DRIVER), batch)
            found += self.rules.apply(DRIVER, now, events, self.fences.inside(DRIVER), batch)
        return found


def kinds(
    actions: Sequence[StopAction], with_arriving: bool = False
) -> list[tuple[StopActionKind, int]]:
    """What happened at which stop, in order ("arriving" alerts only if asked)."""
    return [(a.kind, a.stop.stop_id) for a in actions if with_arriving or a.kind is not ARRIVING]


def arrivals(actions: Sequence[StopAction]) -> list[StopAction]:
    return [a for a in actions if a.kind is ARRIVED]


def status_changes(actions: Sequence[StopAction]) -> list[StopAction]:
    """Everything but the "arriving" alerts."""
    return [a for a in actions if a.kind is not ARRIVING]


STOP = at(0)


def test_parking_at_the_next_stop_for_a_minute_is_one_arrival_when_the_parking_began() -> None:
    phone = Phone(at(-800))
    phone.drive_to(at(-5))
    parked = phone.stand(240)

    actions = arrivals(Day().play(phone.fixes, [dropoff(1, STOP)]))

    assert kinds(actions) == [(ARRIVED, 1)]
    assert abs(actions[0].at - parked) <= EVERY_S
    # Seen once the minute was up, at the next upload.
    assert parked + 60 <= actions[0].fix.recorded_at <= parked + 60 + UPLOAD_S + EVERY_S


def test_a_red_light_near_the_stop_is_no_arrival() -> None:
    phone = Phone(at(-800))
    phone.drive_to(at(-150))
    phone.drive_to(at(-40), speed_mps=2.0)  # crawling in traffic: a minute in the fence
    phone.stand(35)  # the light
    phone.drive_to(at(600))  # and on, past the stop

    assert arrivals(Day().play(phone.fixes, [dropoff(1, STOP)])) == []


def test_after_a_red_light_the_arrival_is_when_the_driver_parked() -> None:
    phone = Phone(at(-800))
    phone.drive_to(at(-150))
    phone.drive_to(at(-40), speed_mps=2.0)
    phone.stand(35)
    phone.drive_to(at(5), speed_mps=5.0)
    parked = phone.stand(180)

    actions = arrivals(Day().play(phone.fixes, [dropoff(1, STOP)]))

    assert kinds(actions) == [(ARRIVED, 1)]
    assert abs(actions[0].at - parked) <= EVERY_S


def test_parked_100_m_away_in_a_pedestrian_street_the_arrival_takes_longer() -> None:
    phone = Phone(at(-800))
    phone.drive_to(at(-100))
    parked = phone.stand(240)

    actions = arrivals(Day().play(phone.fixes, [dropoff(1, STOP)]))

    assert kinds(actions) == [(ARRIVED, 1)]
    assert abs(actions[0].at - parked) <= EVERY_S
    assert actions[0].fix.recorded_at - parked >= CONFIG.off_plan_still_s


def test_a_short_stand_100_m_from_the_stop_is_no_arrival() -> None:
    phone = Phone(at(-800))
    phone.drive_to(at(-100))
    phone.stand(80)  # longer than a red light near the stop, shorter than a visit this far
    phone.drive_to(at(-900))

    assert arrivals(Day().play(phone.fixes, [dropoff(1, STOP)])) == []


def test_parked_at_a_stop_out_of_order_the_arrival_takes_longer() -> None:
    route = [dropoff(1, at(2_000)), dropoff(2, STOP)]
    phone = Phone(at(-800))
    phone.drive_to(at(-5))
    parked = phone.stand(240)

    actions = arrivals(Day().play(phone.fixes, route))

    assert kinds(actions) == [(ARRIVED, 2)]
    assert abs(actions[0].at - parked) <= EVERY_S
    assert actions[0].fix.recorded_at - parked >= CONFIG.off_plan_still_s


def test_a_short_stand_at_a_stop_out_of_order_is_no_arrival() -> None:
    route = [dropoff(1, at(2_000)), dropoff(2, STOP)]
    phone = Phone(at(-800))
    phone.drive_to(at(-5))
    phone.stand(80)  # held up on the way by a van unloading
    phone.drive_to(at(2_000))

    assert arrivals(Day().play(phone.fixes, route)) == []


def test_one_gps_jump_while_parked_does_not_restart_the_stand() -> None:
    phone = Phone(at(-800))
    phone.drive_to(at(-5))
    parked = phone.stand(30)
    phone.outlier(400)
    phone.stand(120, seed=1)

    actions = status_changes(Day().play(phone.fixes, [dropoff(1, STOP)]))

    assert kinds(actions) == [(ARRIVED, 1)]
    assert abs(actions[0].at - parked) <= EVERY_S


def test_one_gps_jump_at_an_arrived_stop_is_no_departure() -> None:
    phone = Phone(at(-800))
    phone.drive_to(at(-5))
    phone.stand(120)
    phone.outlier(400)
    phone.stand(120, seed=1)

    actions = Day().play(phone.fixes, [dropoff(1, STOP)])

    assert kinds(actions) == [(ARRIVED, 1)]


def test_a_gps_gap_in_a_car_park_is_bridged() -> None:
    phone = Phone(at(-800))
    last_seen_at = phone.drive_to(at(-100))  # into an underground car park: no GPS
    phone.record(phone.here, 10.0)
    phone.silent(120)
    phone.here = at(-5)
    back_at = phone.t
    phone.stand(180)

    actions = status_changes(Day().play(phone.fixes, [dropoff(1, STOP)]))

    assert kinds(actions) == [(ARRIVED, 1)]
    arrived = actions[0]
    # Parked during the gap, so the stand counts from when a slow drive from the last fix
    # would have got there: seen as soon as the phone came back, not 60 s later. Dated
    # when it is certain (the phone's first fix back), never earlier than the truth.
    assert last_seen_at < back_at
    assert arrived.at == back_at
    assert arrived.fix.recorded_at <= back_at + UPLOAD_S


def test_arriving_is_announced_once_when_the_driver_comes_near_the_next_dropoff() -> None:
    phone = Phone(at(-1_500))
    phone.drive_to(at(-5))
    phone.stand(180)

    actions = Day().play(phone.fixes, [dropoff(1, STOP)])

    assert kinds(actions, with_arriving=True) == [(ARRIVING, 1), (ARRIVED, 1)]
    near = actions[0].fix
    assert 440 <= haversine_m(Point(near.lat, near.lng), STOP) <= 500


def test_no_arriving_for_an_order_not_en_route() -> None:
    phone = Phone(at(-1_500))
    phone.drive_to(at(-200))
    announced = dropoff(1, STOP, status=OrderStatus.ARRIVING)  # e.g. a dispatcher did

    assert Day().play(phone.fixes, [announced]) == []


def test_arriving_for_the_next_dropoff_when_already_near_it_as_it_becomes_next() -> None:
    first, second = dropoff(1, STOP), dropoff(2, at(250))  # inside each other's "nearby"
    phone = Phone(at(-1_500))
    phone.drive_to(at(-5))
    phone.stand(180)
    day = Day()
    before = day.play(phone.fixes, [first, second])
    phone.stand(30, seed=2)  # the first parcel delivered: the second is next
    after = day.play(phone.fixes, [second])
    phone.drive_to(at(245))
    phone.stand(180, seed=3)
    there = day.play(phone.fixes, [second])

    assert kinds(before, with_arriving=True) == [(ARRIVING, 1), (ARRIVED, 1)]
    assert kinds(after, with_arriving=True) == [(ARRIVING, 2)]
    assert kinds(there, with_arriving=True) == [(ARRIVED, 2)]


def test_a_pickup_is_arrived_at_on_entering_its_fence() -> None:
    phone = Phone(at(-600))
    entered_at = T0 + (600 - 150) / 10.0  # 150 m out at 10 m/s
    phone.drive_to(at(-5))
    phone.stand(240)  # loading

    actions = status_changes(Day().play(phone.fixes, [pickup(1, STOP), dropoff(2, at(3_000))]))

    assert kinds(actions) == [(ARRIVED, 1)]  # once: parking and loading add nothing
    first = actions[0]
    assert entered_at <= first.at <= entered_at + 2 * EVERY_S
    assert first.fix.recorded_at == first.at  # seen as it entered, before the parking


def test_driving_off_from_an_arrived_stop_unserved_is_left_without_proof() -> None:
    phone = Phone(at(-800))
    phone.drive_to(at(-5))
    phone.stand(120)
    leaving_at = phone.t
    phone.drive_to(at(1_000))

    actions = status_changes(Day().play(phone.fixes, [dropoff(1, STOP)]))

    assert kinds(actions) == [(ARRIVED, 1), (LEFT, 1)]
    # The circle (150 m) and its band (30 m) left, the fix's accuracy counted: the third
    # fix beyond, one or two GPS jumps not being a departure.
    limit_m = 150 + CONFIG.exit_band_m + ACCURACY_M
    beyond = [
        f
        for f in phone.fixes
        if f.recorded_at > leaving_at and haversine_m(Point(f.lat, f.lng), STOP) > limit_m
    ]
    assert actions[1].fix == beyond[CONFIG.exit_fixes - 1]
    assert actions[1].at == beyond[CONFIG.exit_fixes - 1].recorded_at


def test_driving_off_from_a_finished_pickup_is_departed() -> None:
    phone = Phone(at(-600))
    phone.drive_to(at(-5))
    ready_at = phone.t + 180  # scanned as picked up after three minutes
    phone.stand(200)
    phone.drive_to(at(2_000))
    loaded = [pickup(1, STOP), dropoff(2, at(3_000))]
    rest = loaded[1:]

    actions = status_changes(Day().play(phone.fixes, lambda t: loaded if t < ready_at else rest))

    assert kinds(actions)[:2] == [(ARRIVED, 1), (DEPARTED, 1)]
    gone = actions[-1]
    assert gone.kind is DEPARTED
    assert haversine_m(Point(gone.fix.lat, gone.fix.lng), STOP) > 150 + CONFIG.exit_band_m


def test_driving_off_from_a_delivered_stop_says_nothing() -> None:
    phone = Phone(at(-800))
    phone.drive_to(at(-5))
    delivered_at = phone.t + 150
    phone.stand(160)
    phone.drive_to(at(1_000))
    route = [dropoff(1, STOP), dropoff(2, at(5_000))]

    actions = Day().play(phone.fixes, lambda t: route if t < delivered_at else route[1:])

    assert kinds(actions) == [(ARRIVED, 1)]


def test_the_next_stop_next_door_is_arrived_at_once_the_previous_is_done() -> None:
    route = [dropoff(1, STOP), dropoff(2, at(40))]
    phone = Phone(at(-800))
    phone.drive_to(at(-5))
    phone.stand(120)
    done_at = phone.t + 60  # the first parcel delivered after three minutes there
    phone.stand(300, seed=1)  # walking next door with the second

    actions = status_changes(Day().play(phone.fixes, lambda t: route if t < done_at else route[1:]))

    assert kinds(actions) == [(ARRIVED, 1), (ARRIVED, 2)]
    second = actions[1]
    assert done_at - UPLOAD_S <= second.at <= done_at  # not when the car was parked
    assert second.fix.recorded_at >= second.at + CONFIG.still_s


def at_first_then_second_added(second_m: float) -> list[StopAction]:
    """Parked at stop 1 (arrived, not yet delivered) when stop 2 is added ``second_m``
    from it; stays ten minutes."""
    first = dropoff(1, STOP)
    second = dropoff(2, at(second_m), arrival_m=60.0)
    phone = Phone(at(-800))
    phone.drive_to(at(-5))
    phone.stand(120)
    added_at = phone.t
    phone.stand(600, seed=1)
    return Day().play(phone.fixes, lambda t: [first] if t < added_at else [first, second])


def test_a_stop_added_at_the_same_place_is_arrived_at_too() -> None:
    actions = at_first_then_second_added(second_m=12.0)

    assert kinds(actions) == [(ARRIVED, 1), (ARRIVED, 2)]


def test_a_neighbours_stop_is_not_arrived_at_while_at_an_unfinished_stop() -> None:
    actions = at_first_then_second_added(second_m=50.0)

    assert kinds(actions) == [(ARRIVED, 1)]


wander = st.tuples(st.floats(-1.0, 1.0), st.floats(-1.0, 1.0))


@given(
    # Each fix: an offset (a fraction of how far it may wander) and whether it is a wild
    # jump; never two wild jumps in a row.
    steps=st.lists(st.tuples(wander, st.booleans(), st.floats(3.0, 40.0)), max_size=60),
    batch_sizes=st.lists(st.integers(1, 10), min_size=1, max_size=60),
)
def test_an_arrived_driver_stays_arrived_through_gps_wander_and_single_jumps(
    steps: list[tuple[tuple[float, float], bool, float]], batch_sizes: list[int]
) -> None:
    route = [dropoff(1, STOP)]
    phone = Phone(at(-800))
    phone.drive_to(at(-5))
    phone.stand(120)
    day = Day()
    assert kinds(day.play(phone.fixes, route)) == [(ARRIVED, 1)]
    previous_wild = False
    fixes = []
    for (dn, de), wild, accuracy_m in steps:
        wild = wild and not previous_wild
        previous_wild = wild
        reach_m = 2_000.0 if wild else 150.0 + CONFIG.exit_band_m - 1.0
        p = at(dn * reach_m / math.sqrt(2), de * reach_m / math.sqrt(2))
        phone.here = p
        phone.record(p, 0.0, accuracy_m)
        phone.t += EVERY_S
        fixes.append(phone.fixes[-1])

    k = 0
    for size in batch_sizes:
        batch, k = fixes[k : k + size], k + size
        if not batch:
            break
        events = day.fences.check(DriverRef(ORG, DRIVER), batch)
        actions = day.rules.apply(DRIVER, route, events, day.fences.inside(DRIVER), batch)
        assert actions == []
        assert day.rules.arrived(DRIVER) == {1}
