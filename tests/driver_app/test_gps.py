"""GPS pacing (tables and properties) and the streamer with a fake location source."""

import asyncio
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flet_geolocator import GeolocatorPosition
from hypothesis import given
from hypothesis import strategies as st

from driver_app.logic.gps_pacing import (
    BatchPolicy,
    Motion,
    Pacer,
    PacingConfig,
    Sample,
    batches,
    interval_s,
    next_motion,
    speed_between,
    streams_in,
)
from driver_app.services.geolocator import FletLocation, _reading
from driver_app.services.location import Access, NoPositionError, Reading
from driver_app.services.outbox import Outbox
from driver_app.state.gps import NO_GPS, NO_PERMISSION, GpsState, GpsStreamer
from driver_app.state.sync import SyncLoop
from shared.enums import DriverStatus
from shared.schemas.locations import FixIn
from tests.driver_app.fakes import START, FakeClock, FakeServer, Link
from tests.driver_app.test_sync import until

CONFIG = PacingConfig()
METRES_PER_DEGREE = 111_195.0  # along a meridian


def drive(speeds: list[float], every_s: float = 5.0) -> list[Sample]:
    """Samples ``every_s`` apart going north at each speed in turn (m/s)."""
    samples, lat = [], 43.7
    for i, speed in enumerate(speeds):
        samples.append(Sample(i * every_s, lat, 7.42, speed))
        lat += speed * every_s / METRES_PER_DEGREE
    return samples


def pace(samples: list[Sample]) -> tuple[list[Motion], list[float]]:
    pacer = Pacer()
    intervals = [pacer.observe(s) for s in samples]
    return [pacer.motion], intervals


# --- tables ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("speed_mps", "expected_s"),
    [(2.5, 10.0), (3.0, 10 - 5 * 0.5 / 11.5), (8.25, 7.5), (14.0, 5.0), (30.0, 5.0), (1.0, 10.0)],
)
def test_moving_the_faster_the_more_often(speed_mps: float, expected_s: float) -> None:
    assert interval_s(Motion.MOVING, speed_mps, 0, CONFIG) == pytest.approx(expected_s)


@pytest.mark.parametrize(
    ("stopped_for_s", "expected_s"), [(0, 30.0), (150, 45.0), (300, 60.0), (3600, 60.0)]
)
def test_stopped_the_longer_the_stop_the_rarer(stopped_for_s: float, expected_s: float) -> None:
    assert interval_s(Motion.STOPPED, 0.0, stopped_for_s, CONFIG) == expected_s


def test_a_driver_counts_as_stopped_after_a_minute_slow_and_moving_again_at_once() -> None:
    pacer = Pacer()
    for sample in drive([12.0] * 6):
        assert pacer.observe(sample) == pytest.approx(10 - 5 * 9.5 / 11.5)
    t = 30.0
    modes, intervals = [], []
    for _ in range(14):  # 70 s at a standstill, a fix every 5 s
        t += 5
        intervals.append(pacer.observe(Sample(t, 43.71, 7.42, 0.0)))
        modes.append(pacer.motion)
    assert modes.index(Motion.STOPPED) == 11  # the first fix a full minute after slowing
    assert intervals[11:] == [30.0, 30.5, 31.0]  # then rarer as the stop goes on
    pacer.observe(Sample(t + 30, 43.71, 7.42, 3.0))
    assert pacer.motion is Motion.MOVING


def test_a_red_light_is_not_a_stop() -> None:
    samples = drive([10.0] * 4 + [0.0] * 9 + [10.0] * 4)  # 45 s still
    pacer = Pacer()
    assert all(pacer.observe(s) <= 10 for s in samples)
    assert pacer.motion is Motion.MOVING


def test_walking_pace_neither_starts_nor_ends_a_stop() -> None:
    """Between the two thresholds the mode stays what it was (hysteresis)."""
    stopped = [Sample(t, 43.7, 7.42, 0.0) for t in range(0, 120, 10)]
    slow = [Sample(120 + t, 43.7, 7.42, 1.8) for t in range(0, 600, 30)]
    assert next_motion(Motion.STOPPED, stopped, CONFIG) is Motion.STOPPED
    for i in range(1, len(slow) + 1):
        assert next_motion(Motion.STOPPED, stopped + slow[:i], CONFIG) is Motion.STOPPED
        assert next_motion(Motion.MOVING, slow[:i], CONFIG) is Motion.MOVING


def test_without_a_speed_it_is_worked_out_from_the_distance() -> None:
    a = Sample(0, 43.7, 7.42)
    b = Sample(10, 43.7 + 100 / METRES_PER_DEGREE, 7.42)
    assert speed_between(a, b) == pytest.approx(10.0, rel=1e-3)
    assert speed_between(None, b) is None
    assert speed_between(a, Sample(10, 43.7, 7.42, speed_mps=3.0)) == 3.0


def test_a_late_fix_changes_nothing() -> None:
    pacer = Pacer()
    pacer.observe(Sample(100, 43.7, 7.42, 14.0))
    assert pacer.observe(Sample(50, 43.7, 7.42, 0.0)) == 5.0


@pytest.mark.parametrize(
    ("status", "streams"),
    [
        (DriverStatus.IDLE, True),
        (DriverStatus.EN_ROUTE, True),
        (DriverStatus.DELIVERING, True),
        (DriverStatus.ON_BREAK, True),
        (DriverStatus.OFFLINE, False),
        (None, False),
    ],
)
def test_gps_runs_only_on_shift(status: DriverStatus | None, streams: bool) -> None:
    assert streams_in(status) is streams


@pytest.mark.parametrize(
    ("count", "age_s", "wait"),
    [(0, 100, None), (1, 0, 15.0), (1, 10, 5.0), (5, 20, 0.0), (100, 0, 0.0), (150, 0, 0.0)],
)
def test_a_batch_is_due_when_full_or_old(count: int, age_s: float, wait: float | None) -> None:
    assert BatchPolicy(max_size=100, max_age_s=15).wait_s(count, age_s) == wait


def test_settings_that_make_no_sense_are_refused() -> None:
    with pytest.raises(ValueError, match="intervals"):
        PacingConfig(moving_min_s=20, moving_max_s=10)
    with pytest.raises(ValueError, match="speeds"):
        PacingConfig(stop_below_mps=3, start_moving_mps=2)
    with pytest.raises(ValueError, match="500"):
        BatchPolicy(max_size=501)


# --- properties -----------------------------------------------------------------------

speeds = st.one_of(st.none(), st.floats(min_value=0, max_value=70, allow_nan=False))
gaps = st.floats(min_value=0.5, max_value=300, allow_nan=False)
steps = st.lists(st.tuples(gaps, speeds, st.floats(-50, 50), st.floats(-50, 50)), max_size=80)


def _samples(moves: list[tuple[float, float | None, float, float]]) -> list[Sample]:
    samples, t, lat, lng = [], 0.0, 43.7, 7.42
    for gap, speed, north_m, east_m in moves:
        t += gap
        lat += north_m / METRES_PER_DEGREE
        lng += east_m / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
        samples.append(Sample(t, lat, lng, speed))
    return samples


@given(steps)
def test_the_interval_is_always_within_the_bounds_of_the_mode(
    moves: list[tuple[float, float | None, float, float]],
) -> None:
    pacer = Pacer()
    for sample in _samples(moves):
        interval = pacer.observe(sample)
        if pacer.motion is Motion.MOVING:
            assert CONFIG.moving_min_s <= interval <= CONFIG.moving_max_s
        else:
            assert CONFIG.stopped_min_s <= interval <= CONFIG.stopped_max_s


@given(
    st.sampled_from(Motion),
    st.lists(st.tuples(gaps, st.floats(min_value=1.0, max_value=2.49)), min_size=1),
)
def test_speeds_between_the_thresholds_never_flip_the_mode(
    start: Motion, moves: list[tuple[float, float]]
) -> None:
    samples, t = [], 0.0
    for gap, speed in moves:
        t += gap
        samples.append(Sample(t, 43.7, 7.42, speed))
        assert next_motion(start, samples, CONFIG) is start


@given(st.lists(st.integers()), st.integers(min_value=1, max_value=500))
def test_batches_keep_the_order_and_never_exceed_the_size(items: list[int], size: int) -> None:
    cut = batches(items, size)
    assert [x for batch in cut for x in batch] == items
    assert all(1 <= len(batch) <= size for batch in cut)
    assert all(len(batch) == size for batch in cut[:-1])


@given(
    st.integers(min_value=0, max_value=1000),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
)
def test_a_batch_never_waits_past_its_age(count: int, age_s: float) -> None:
    policy = BatchPolicy(max_size=100, max_age_s=15)
    wait = policy.wait_s(count, age_s)
    if count == 0:
        assert wait is None
    else:
        assert wait is not None
        assert 0 <= wait <= 15
        assert (wait == 0) == (count >= 100 or age_s >= 15)


# --- the streamer ---------------------------------------------------------------------


class FakeSource:
    def __init__(self, access: Access, readings: Sequence[Reading | NoPositionError]) -> None:
        self._access = access
        self.readings = list(readings)
        self.reads = 0

    async def access(self) -> Access:
        return self._access

    async def read(self) -> Reading:
        self.reads += 1
        if not self.readings:
            await asyncio.Event().wait()  # no more fixes: the shift goes on
        reading = self.readings.pop(0)
        if isinstance(reading, NoPositionError):
            raise reading
        return reading


class Sink:
    def __init__(self) -> None:
        self.fixes: list[FixIn] = []
        self.flushes = 0

    async def add_fix(self, fix: FixIn) -> None:
        self.fixes.append(fix)

    def flush_fixes(self) -> None:
        self.flushes += 1


def state_of(gps: GpsStreamer) -> GpsState:
    return gps.state  # read afresh: mypy would keep what an earlier assert narrowed


async def forever(_: float) -> None:
    await asyncio.Event().wait()


def readings(speeds: list[float], every_s: float = 5.0) -> list[Reading]:
    return [
        Reading(s.lat, s.lng, START + timedelta(seconds=s.at_s), speed_mps=s.speed_mps)
        for s in drive(speeds, every_s)
    ]


@pytest.mark.parametrize(
    ("access", "message"), [(Access.DENIED, NO_PERMISSION), (Access.UNAVAILABLE, NO_GPS)]
)
async def test_no_gps_is_said_in_words_and_nothing_is_sent(access: Access, message: str) -> None:
    source, sink = FakeSource(access, readings([10.0])), Sink()
    gps = GpsStreamer(source, sink, sleep=FakeClock().sleep)
    gps.follow_shift(DriverStatus.IDLE)
    await until(lambda: not gps.running, 5, "gave up")
    assert gps.state is GpsState.UNAVAILABLE
    assert gps.message == message
    assert source.reads == 0
    assert sink.fixes == []
    gps.follow_shift(DriverStatus.EN_ROUTE)  # a reload, still on shift: not asked again
    assert not gps.running
    assert gps.message == message


async def test_fixes_follow_the_pace_and_stop_with_the_shift() -> None:
    clock, sink = FakeClock(), Sink()
    taken = readings([14.0] * 3)
    source = FakeSource(Access.GRANTED, [*taken])
    gps = GpsStreamer(source, sink, sleep=clock.sleep, monotonic=lambda: 0.0, battery=lambda: 80)
    gps.follow_shift(DriverStatus.IDLE)
    await until(lambda: source.reads == 4, 5, "three fixes taken")
    assert [(f.lat, f.recorded_at) for f in sink.fixes] == [(r.lat, r.recorded_at) for r in taken]
    assert all(f.battery == 80 and f.speed_mps == 14.0 for f in sink.fixes)
    assert clock.sleeps == [5.0, 5.0, 5.0]
    assert gps.state is GpsState.ON
    assert gps.motion is Motion.MOVING
    assert gps.last_fix_at == taken[-1].recorded_at

    gps.follow_shift(DriverStatus.OFFLINE)
    assert state_of(gps) is GpsState.OFF
    assert not gps.running
    assert sink.flushes == 1  # what is queued leaves now
    await gps.aclose()


async def test_a_lost_signal_is_looked_for_again_and_a_lasting_loss_is_said() -> None:
    clock, sink = FakeClock(), Sink()
    states: list[GpsState] = []
    source = FakeSource(
        Access.GRANTED,
        [
            NoPositionError("Looking for a GPS signal"),
            *readings([5.0]),
            NoPositionError("off", lasting=True),
        ],
    )
    gps = GpsStreamer(source, sink, sleep=clock.sleep, monotonic=lambda: 0.0)
    gps.subscribe(lambda: states.append(gps.state))
    gps.start()
    await until(lambda: not gps.running, 5, "stopped")
    assert GpsState.SEARCHING in states
    assert len(sink.fixes) == 1
    assert clock.sleeps[0] == CONFIG.stopped_min_s  # looked again at the stopped pace
    assert gps.state is GpsState.UNAVAILABLE
    assert gps.message == NO_GPS


async def test_a_slow_read_shortens_the_wait() -> None:
    clock, sink = FakeClock(), Sink()
    elapsed = [0.0]  # a monotonic clock, in seconds

    class SlowSource(FakeSource):
        async def read(self) -> Reading:
            elapsed[0] += 3.0  # each read takes 3 s
            return await super().read()

    async def sleep(seconds: float) -> None:
        elapsed[0] += seconds
        await clock.sleep(seconds)

    source = SlowSource(Access.GRANTED, readings([14.0, 14.0]))
    gps = GpsStreamer(source, sink, sleep=sleep, monotonic=lambda: elapsed[0])
    gps.start()
    await until(lambda: source.reads == 3, 5, "two fixes")
    assert clock.sleeps == [2.0, 2.0]  # 5 s from the start of one read to the next
    await gps.aclose()


async def test_fixes_reach_the_server_in_order_through_the_queue(tmp_path: Path) -> None:
    clock, server = FakeClock(), FakeServer()
    outbox = await Outbox.open(tmp_path / "queue.sqlite", now=clock.now, durable=False)
    sync = SyncLoop(
        outbox,
        Link(server),
        sleep=forever,  # no batch gets old (the GPS moves the clock): only full ones leave
        now=clock.now,
        batch=BatchPolicy(max_size=10, max_age_s=3600),
    )
    source = FakeSource(Access.GRANTED, readings([14.0] * 25))
    gps = GpsStreamer(source, sync, sleep=clock.sleep, monotonic=lambda: 0.0)
    sync.start()
    gps.follow_shift(DriverStatus.EN_ROUTE)
    await until(lambda: source.reads == 26, 5, "every fix taken")
    gps.follow_shift(DriverStatus.OFFLINE)  # the shift ends: the rest leaves at once
    await until(lambda: len(server.fixes) == 25, 5, "every fix sent")
    assert [f.recorded_at for f in server.fixes] == [r.recorded_at for r in readings([14.0] * 25)]
    assert [len(b) for b in server.timeline] == [10, 10, 5]  # the 5 left at the shift end
    await gps.aclose()
    await sync.aclose()
    await outbox.close()


def test_flet_positions_are_read_in_our_units() -> None:
    """The adapter's one decision: platforms report 0.0 for what they do not know."""
    unknown = GeolocatorPosition(
        latitude=43.7,
        longitude=7.42,
        speed=0.0,
        speed_accuracy=0.0,
        heading=0.0,
        accuracy=12.0,
        timestamp=datetime(2031, 3, 14, 8),
    )
    assert _reading(unknown) == Reading(43.7, 7.42, START, accuracy_m=12.0)
    still = GeolocatorPosition(
        latitude=43.7, longitude=7.42, speed=0.0, speed_accuracy=0.5, timestamp=START
    )
    assert _reading(still).speed_mps == 0.0
    ios = GeolocatorPosition(latitude=43.7, longitude=7.42, speed=-1.0, timestamp=START)
    assert _reading(ios).speed_mps is None


async def test_without_a_page_there_is_no_gps() -> None:
    """A desktop or a browser that cannot give a position: the streamer says so."""
    sink = Sink()
    gps = GpsStreamer(FletLocation(), sink)
    gps.start()
    await until(lambda: not gps.running, 10, "gave up")
    assert gps.state is GpsState.UNAVAILABLE
    assert gps.message == NO_GPS
