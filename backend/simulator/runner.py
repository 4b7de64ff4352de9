"""Play a fleet's day: route each driver, drive it, and send the fixes as time passes.

Build, then play. ``build_run`` is pure (a plan and its road route in, the true trajectory
and the fixes out); ``simulate_all`` routes and builds every plan synchronously and returns
everything without sleeping (tests, benchmarks); ``Simulation`` does the same off the event
loop and then replays the fixes on a simulated clock running ``speed`` times faster than
real time, handing each driver's new fixes to a :class:`~backend.simulator.sinks.FixSink`
every ``upload_every_s`` simulated seconds, the way a phone uploads in batches.

Each driver draws from its own random streams, derived from ``(seed, driver_id)``: the
same seed gives the same fixes whatever the other drivers or their order.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

import numpy as np

from backend.routing.port import RouteSource
from backend.routing.results import Route
from backend.simulator.gps import GpsConfig, SimulatedFix, sample_fixes
from backend.simulator.motion import MotionConfig, Trajectory, simulate_motion
from backend.simulator.sinks import FixSink
from shared.geo import Point


class PlannedStop(NamedTuple):
    point: Point
    service_time_s: float
    not_before: datetime | None = None  # its time window opens then: an early driver waits


@dataclass(frozen=True, slots=True)
class DriverPlan:
    """A driver's day: leave ``start`` at ``start_at`` (aware UTC), serve ``stops`` in order,
    then drive to ``end`` if given (e.g. back to the depot)."""

    driver_id: int
    start: Point
    stops: tuple[PlannedStop, ...]
    start_at: datetime
    end: Point | None = None

    @property
    def waypoints(self) -> list[Point]:
        tail = [self.end] if self.end is not None else []
        return [self.start, *(s.point for s in self.stops), *tail]

    @property
    def ready_s(self) -> list[float | None]:
        """When each leg's stop may be served, in seconds after ``start_at``."""
        tail: list[float | None] = [None] if self.end is not None else []
        return [
            *(
                (s.not_before - self.start_at).total_seconds() if s.not_before else None
                for s in self.stops
            ),
            *tail,
        ]

    @property
    def service_times_s(self) -> list[float]:
        tail = [0.0] if self.end is not None else []
        return [*(s.service_time_s for s in self.stops), *tail]


@dataclass(frozen=True, slots=True)
class DriverRun:
    """One driver's simulated day: the planned route, the truth, and what the phone saw."""

    plan: DriverPlan
    route: Route
    trajectory: Trajectory
    fixes: list[SimulatedFix]

    @property
    def outliers(self) -> int:
        return sum(1 for f in self.fixes if f.outlier)


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    seed: int = 0
    motion: MotionConfig = field(default_factory=MotionConfig)
    gps: GpsConfig = field(default_factory=GpsConfig)


def driver_rngs(seed: int, driver_id: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent (motion, gps) generators for one driver, fixed by ``seed`` and the id."""
    motion, gps = np.random.SeedSequence([seed, driver_id]).spawn(2)
    return np.random.default_rng(motion), np.random.default_rng(gps)


def build_run(plan: DriverPlan, route: Route, config: SimulationConfig) -> DriverRun:
    """Drive ``route`` (the engine's answer for ``plan.waypoints``) and record the fixes."""
    motion_rng, gps_rng = driver_rngs(config.seed, plan.driver_id)
    trajectory = simulate_motion(
        route.geometry,
        route.leg_distances_m,
        route.leg_durations_s,
        plan.service_times_s,
        motion_rng,
        plan.start_at,
        config.motion,
        plan.ready_s,
        plan.waypoints[1:],
    )
    return DriverRun(plan, route, trajectory, sample_fixes(trajectory, gps_rng, config.gps))


def _check(plan: DriverPlan) -> None:
    if not plan.stops:
        raise ValueError(f"driver {plan.driver_id}: a plan needs at least one stop")


def simulate_all(
    plans: Sequence[DriverPlan], routing: RouteSource, config: SimulationConfig
) -> list[DriverRun]:
    """Route and simulate every plan, synchronously, without sleeping."""
    runs = []
    for plan in plans:
        _check(plan)
        runs.append(build_run(plan, routing.route(plan.waypoints), config))
    return runs


class Clock(Protocol):
    """Real seconds: ``monotonic`` reads, ``sleep`` waits."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Simulation:
    """Route, simulate and play out a fleet's day into a sink.

    ``speed`` is simulated seconds per real second (``0``: as fast as possible, no
    sleeping). Fixes are delivered once the simulated clock has passed their
    ``recorded_at``, per driver in time order, at most every ``upload_every_s`` simulated
    seconds.
    """

    def __init__(
        self,
        plans: Sequence[DriverPlan],
        routing: RouteSource,
        sink: FixSink,
        config: SimulationConfig | None = None,
        *,
        speed: float = 1.0,
        upload_every_s: float = 15.0,
        clock: Clock | None = None,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        if upload_every_s <= 0:
            raise ValueError("upload_every_s must be positive")
        for plan in plans:
            _check(plan)
        self.plans = list(plans)
        self.routing = routing
        self.sink = sink
        self.config = config or SimulationConfig()
        self.speed = speed
        self.upload_every_s = upload_every_s
        self.clock: Clock = clock or WallClock()

    async def prepare(
        self, on_driver: Callable[[DriverRun], None] | None = None
    ) -> list[DriverRun]:
        """Route (in a worker thread: the engine blocks) and simulate each plan, in order."""
        runs = []
        for plan in self.plans:
            route = await asyncio.to_thread(self.routing.route, plan.waypoints)
            run = build_run(plan, route, self.config)
            if on_driver is not None:
                on_driver(run)
            runs.append(run)
        return runs

    async def play(self, runs: Sequence[DriverRun]) -> int:
        """Deliver every run's fixes on the simulated clock; returns how many were sent."""
        queues = {r.plan.driver_id: [f.fix for f in r.fixes] for r in runs}
        cursors = dict.fromkeys(queues, 0)
        pending = [d for d, q in sorted(queues.items()) if q]
        if not pending:
            return 0
        sim_start = min(queues[d][0].recorded_at for d in pending)
        step = timedelta(seconds=self.upload_every_s)
        real_start = self.clock.monotonic()
        tick, sent = sim_start, 0
        while pending:
            # Skip idle stretches (before late starters) instead of waking for nothing.
            earliest = min(queues[d][cursors[d]].recorded_at for d in pending)
            if earliest > tick:
                tick += step * ((earliest - tick) // step)
            tick += step
            if self.speed > 0:
                due = real_start + (tick - sim_start).total_seconds() / self.speed
                delay = due - self.clock.monotonic()
                if delay > 0:
                    await self.clock.sleep(delay)
            for driver_id in pending:
                queue, start = queues[driver_id], cursors[driver_id]
                end = start
                while end < len(queue) and queue[end].recorded_at <= tick:
                    end += 1
                if end > start:
                    await self.sink.send(driver_id, queue[start:end])
                    cursors[driver_id] = end
                    sent += end - start
            pending = [d for d in pending if cursors[d] < len(queues[d])]
        return sent

    async def run(self, on_driver: Callable[[DriverRun], None] | None = None) -> list[DriverRun]:
        """Prepare, then play; returns the runs (with the truth) for reporting."""
        runs = await self.prepare(on_driver)
        await self.play(runs)
        return runs
