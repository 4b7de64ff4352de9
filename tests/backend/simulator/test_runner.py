"""Playing a fleet's day into a sink: in time order, in batches, repeatable."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend.simulator.gps import Fix, GpsConfig
from backend.simulator.runner import (
    DriverPlan,
    PlannedStop,
    Simulation,
    SimulationConfig,
    simulate_all,
)
from backend.simulator.sinks import JsonlSink, MemorySink
from tests.backend.simulator.streets import BOULEVARD_ALBERT_1ER, StraightRouting

START = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
B = BOULEVARD_ALBERT_1ER


def plans() -> list[DriverPlan]:
    return [
        DriverPlan(
            driver_id=1,
            start=B[0],
            stops=(PlannedStop(B[8], 120.0), PlannedStop(B[15], 60.0), PlannedStop(B[25], 90.0)),
            start_at=START,
        ),
        DriverPlan(
            driver_id=2,
            start=B[0],
            stops=(PlannedStop(B[20], 300.0),),
            start_at=START + timedelta(minutes=3),  # a later start: idle time is skipped
            end=B[0],
        ),
    ]


class FakeClock:
    """Real time that passes only when someone sleeps: a fast, exact test of the pacing."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class TimedSink(MemorySink):
    """Notes the fake real time at which each batch arrives."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.sent_at: list[float] = []

    async def send(self, driver_id: int, fixes: Sequence[Fix]) -> None:
        self.sent_at.append(self.clock.now)
        await super().send(driver_id, fixes)


async def test_fixes_arrive_in_time_order_paced_by_the_simulated_clock() -> None:
    clock = FakeClock()
    sink, routing = TimedSink(clock), StraightRouting()
    speed, upload_every_s = 10.0, 15.0
    simulation = Simulation(
        plans(), routing, sink, SimulationConfig(seed=3), speed=speed,
        upload_every_s=upload_every_s, clock=clock,
    )  # fmt: skip
    runs = await simulation.run()

    assert [call[0] for call in routing.calls] == [B[0], B[0]]
    assert routing.calls[1][-1] == B[0]  # driver 2 returns to the depot
    for run in runs:
        sent = [fix for d, fix in sink.fixes if d == run.plan.driver_id]
        assert sent == [f.fix for f in run.fixes]  # all of them, each once, in order
    assert sink.sent_at == sorted(sink.sent_at)
    for sent_at, (_, batch) in zip(sink.sent_at, sink.batches, strict=True):
        simulated_now = START + timedelta(seconds=(sent_at - 100.0) * speed)
        for fix in batch:  # never before it was recorded, at most one upload period later
            assert fix.recorded_at <= simulated_now
            assert simulated_now - fix.recorded_at <= timedelta(seconds=upload_every_s)
    assert max(len(batch) for _, batch in sink.batches) <= 4  # [start, start+15 s], every 5 s


async def test_speed_zero_plays_without_sleeping_and_matches_simulate_all() -> None:
    config = SimulationConfig(seed=11)
    sink, clock = MemorySink(), FakeClock()
    runs = await Simulation(plans(), StraightRouting(), sink, config, speed=0, clock=clock).run()
    assert clock.slept == []
    direct = simulate_all(plans(), StraightRouting(), config)
    assert [[f.fix for f in r.fixes] for r in runs] == [[f.fix for f in r.fixes] for r in direct]
    assert len(sink.fixes) == sum(len(r.fixes) for r in direct)


def test_same_seed_same_fixes_different_seed_different() -> None:
    def day(seed: int) -> list[list[Fix]]:
        runs = simulate_all(plans(), StraightRouting(), SimulationConfig(seed=seed))
        return [[f.fix for f in r.fixes] for r in runs]

    assert day(5) == day(5)
    assert day(5) != day(6)


def test_a_driver_s_fixes_do_not_depend_on_the_others() -> None:
    config = SimulationConfig(seed=5)
    both = simulate_all(plans(), StraightRouting(), config)
    alone = simulate_all(plans()[1:], StraightRouting(), config)
    assert [f.fix for f in both[1].fixes] == [f.fix for f in alone[0].fixes]


def test_stops_and_service_times_reach_the_trajectory() -> None:
    config = SimulationConfig(seed=1, gps=GpsConfig(gaps_per_hour=0.0))
    run = simulate_all(plans()[:1], StraightRouting(), config)[0]
    assert len(run.trajectory.visits) == 3
    assert run.trajectory.start_at == START
    assert run.fixes[0].fix.recorded_at == START


async def test_jsonl_sink_appends_one_object_per_fix(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "fixes.jsonl"
    sink = JsonlSink(out)
    runs = simulate_all(plans(), StraightRouting(), SimulationConfig(seed=2))
    for run in runs:
        await sink.send(run.plan.driver_id, [f.fix for f in run.fixes[:3]])
    await sink.send(1, [])
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == sink.count == 6
    first = lines[0]
    assert first["driver_id"] == 1
    assert set(first) == {
        "driver_id", "lat", "lng", "recorded_at", "speed_mps", "heading_deg", "accuracy_m",
        "altitude_m", "battery",
    }  # fmt: skip
    assert datetime.fromisoformat(first["recorded_at"]) == START


def test_a_plan_without_stops_is_refused() -> None:
    empty = DriverPlan(driver_id=9, start=B[0], stops=(), start_at=START)
    with pytest.raises(ValueError, match="at least one stop"):
        Simulation([empty], StraightRouting(), MemorySink())
