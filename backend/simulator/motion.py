"""How a vehicle really moves along a planned route: pure, seeded, no I/O.

Input: the route's road geometry (WGS84 points from the routing engine), the engine's
per-leg distances and durations (one leg per stop), the service time at each stop and a
seeded ``numpy.random.Generator``. Output: a :class:`Trajectory`, the vehicle's true
distance along the geometry over time, from which positions, speeds (m/s) and headings
(degrees from north) are read at any instant.

The model, per leg of expected duration ``T`` seconds over ``D`` metres:

- brief stops (traffic lights, give-way at junctions) at sharp turns and, now and then, on
  straight stretches; together at most ``brief_stop_budget`` x ``T``;
- cruising speed = ``D / (T - brief stops)`` x a smooth random factor (an
  Ornstein-Uhlenbeck process clipped to 1 ± ``speed_variation``), never above
  ``max_speed_mps``; the engine's durations already price in junctions, so the stops are
  carved out of the expected time rather than added to it;
- bounded acceleration, braking ahead of every stop, a creep speed so a stop is reached;
- a dwell at the stop for its service time x (1 ± ``service_time_noise``).

The leg's moving time therefore lies within ``[T/(1+v), T/(1-v)]`` (v = speed_variation),
plus a few seconds per stop for accelerating and braking.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np

from backend.routing.legs import FloatArray, Polyline, anchor_boundaries_m, leg_boundaries_m
from shared.geo import Point, bearing_deg


@dataclass(frozen=True, slots=True)
class MotionConfig:
    """Driving behaviour. Speeds in m/s, times in seconds, distances in metres."""

    step_s: float = 1.0  # integration step; true positions are recorded at this rate
    speed_variation: float = 0.25  # speed stays within (1 ± this) x the leg's expected speed
    speed_correlation_s: float = 40.0  # how long a faster or slower stretch lasts
    max_speed_mps: float = 36.0  # 130 km/h: no road trip is faster than this
    accel_mps2: float = 1.5
    decel_mps2: float = 2.0
    creep_mps: float = 1.0  # lowest speed while braking towards a stop
    turn_threshold_deg: float = 35.0  # a heading change this sharp counts as a junction
    junction_stop_probability: float = 0.25
    signal_stops_per_km: float = 0.6  # traffic lights on straight stretches
    brief_stop_s: tuple[float, float] = (4.0, 35.0)
    brief_stop_budget: float = 0.25  # fraction of a leg's expected time
    stop_clearance_m: float = 25.0  # no brief stop this close to either end of a leg
    brief_stop_spacing_m: float = 50.0  # nor this close to the previous brief stop
    service_time_noise: float = 0.2  # dwell = service x (1 ± this)

    def __post_init__(self) -> None:
        if not 0.0 <= self.speed_variation < 1.0:
            raise ValueError("speed_variation must be in [0, 1)")
        if not 0.0 <= self.service_time_noise < 1.0:
            raise ValueError("service_time_noise must be in [0, 1)")
        if self.step_s <= 0 or self.max_speed_mps <= 0 or self.creep_mps <= 0:
            raise ValueError("step_s, max_speed_mps and creep_mps must be positive")


class StopVisit(NamedTuple):
    """Seconds since the trajectory's start when the vehicle arrived at and left a stop."""

    arrived_s: float
    departed_s: float


class TruePosition(NamedTuple):
    at: datetime
    point: Point
    speed_mps: float
    heading_deg: float
    distance_m: float  # along the route


@dataclass(frozen=True, slots=True, eq=False)
class Trajectory:
    """Where the vehicle truly is: distance along ``polyline`` at strictly increasing times.

    Between two samples the vehicle moves at constant speed, so speeds are the slopes of
    ``distances_m`` over ``times_s`` (seconds since ``start_at``).
    """

    polyline: Polyline
    start_at: datetime
    times_s: FloatArray
    distances_m: FloatArray
    visits: tuple[StopVisit, ...]
    brief_stops: int

    @property
    def duration_s(self) -> float:
        return float(self.times_s[-1])

    @property
    def end_at(self) -> datetime:
        return self.start_at + timedelta(seconds=self.duration_s)

    @property
    def segment_speeds_mps(self) -> FloatArray:
        """Speed over each interval between samples (m/s); ``len(times_s) - 1`` values."""
        return np.diff(self.distances_m) / np.diff(self.times_s)

    def distance_at(self, t_s: float) -> float:
        return float(np.interp(t_s, self.times_s, self.distances_m))

    def speed_at(self, t_s: float) -> float:
        """Speed (m/s) over the interval holding ``t_s``; 0 before the start and after the end."""
        if t_s < 0 or t_s >= self.duration_s or len(self.times_s) < 2:
            return 0.0
        i = int(np.searchsorted(self.times_s, t_s, side="right")) - 1
        return float(self.segment_speeds_mps[i])

    def position_at(self, t_s: float) -> TruePosition:
        d = self.distance_at(t_s)
        return TruePosition(
            at=self.start_at + timedelta(seconds=t_s),
            point=self.polyline.point_at(d),
            speed_mps=self.speed_at(t_s),
            heading_deg=self.polyline.heading_at(d),
            distance_m=d,
        )

    def positions(self, every_s: float) -> list[TruePosition]:
        """True positions at ``0, every_s, 2·every_s, …`` up to the end (inclusive)."""
        count = math.floor(self.duration_s / every_s) + 1
        return [self.position_at(k * every_s) for k in range(count)]


class _SpeedFactor:
    """Ornstein-Uhlenbeck noise around 1, clipped to 1 ± variation: smooth speed changes."""

    def __init__(self, rng: np.random.Generator, config: MotionConfig) -> None:
        self._rng = rng
        self._low = 1.0 - config.speed_variation
        self._high = 1.0 + config.speed_variation
        self._sigma = config.speed_variation / 2.0  # ~95 % of the time inside the clip
        self._keep = math.exp(-config.step_s / config.speed_correlation_s)
        self._fresh = self._sigma * math.sqrt(1.0 - self._keep**2)
        self._x = float(rng.normal(0.0, self._sigma))

    def step(self) -> float:
        self._x = self._keep * self._x + self._fresh * float(self._rng.standard_normal())
        return min(max(1.0 + self._x, self._low), self._high)


def _junction_distances_m(polyline: Polyline, threshold_deg: float) -> FloatArray:
    """Distances of the vertices where the path turns by more than ``threshold_deg``."""
    pts = polyline.points
    found = []
    for i in range(1, len(pts) - 1):
        if pts[i] == pts[i - 1] or pts[i] == pts[i + 1]:
            continue
        turn = abs(
            (bearing_deg(pts[i], pts[i + 1]) - bearing_deg(pts[i - 1], pts[i]) + 180) % 360 - 180
        )
        if turn > threshold_deg:
            found.append(float(polyline.cumulative_m[i]))
    return np.asarray(found, dtype=np.float64)


def _brief_stops(
    start_m: float,
    end_m: float,
    expected_s: float,
    junctions_m: FloatArray,
    rng: np.random.Generator,
    config: MotionConfig,
) -> list[tuple[float, float]]:
    """(distance m, pause s) of the brief stops on one leg, in driving order."""
    lo, hi = start_m + config.stop_clearance_m, end_m - config.stop_clearance_m
    if hi <= lo:
        return []
    here = junctions_m[(junctions_m > lo) & (junctions_m < hi)]
    chosen = list(here[rng.random(here.size) < config.junction_stop_probability])
    signals = rng.poisson(config.signal_stops_per_km * (hi - lo) / 1000.0)
    chosen.extend(rng.uniform(lo, hi, signals).tolist())
    budget = config.brief_stop_budget * expected_s
    stops: list[tuple[float, float]] = []
    for at_m in sorted(chosen):
        pause = float(rng.uniform(*config.brief_stop_s))
        if pause > budget:
            continue
        if stops and at_m - stops[-1][0] < config.brief_stop_spacing_m:
            continue  # one wait per crossing, not one per vertex of a tight bend
        budget -= pause
        stops.append((float(at_m), pause))
    return stops


def simulate_motion(
    geometry: Sequence[Point],
    leg_distances_m: Sequence[float],
    leg_durations_s: Sequence[float],
    service_times_s: Sequence[float],
    rng: np.random.Generator,
    start_at: datetime,
    config: MotionConfig | None = None,
    ready_s: Sequence[float | None] | None = None,
    leg_ends: Sequence[Point] | None = None,
) -> Trajectory:
    """Drive the route: one leg per stop, each ending with a dwell of its service time.

    ``ready_s`` (seconds after ``start_at``, one per stop, None: any time): a driver who
    arrives before a stop's time window opens waits for it, then serves. ``leg_ends`` (the
    waypoints after the start): each stop is served where the path passes it.

    ``geometry`` is the engine's road path from the start to the last stop;
    ``leg_distances_m`` / ``leg_durations_s`` / ``service_times_s`` have one entry per leg
    (per stop). ``start_at`` must be timezone-aware.
    """
    cfg = config or MotionConfig()
    if start_at.tzinfo is None:
        raise ValueError("start_at must be timezone-aware")
    if not len(leg_distances_m) == len(leg_durations_s) == len(service_times_s):
        raise ValueError("need one distance, duration and service time per leg")
    if ready_s is not None and len(ready_s) != len(service_times_s):
        raise ValueError("need one ready time (or None) per leg")
    polyline = Polyline.of(geometry)
    bounds = leg_boundaries_m(polyline, leg_distances_m)
    if leg_ends is not None:
        bounds = anchor_boundaries_m(polyline, bounds, leg_ends)
    junctions = _junction_distances_m(polyline, cfg.turn_threshold_deg)
    factor = _SpeedFactor(rng, cfg)

    times, dists = [0.0], [0.0]
    t = s = 0.0
    visits: list[StopVisit] = []
    brief_count = 0

    def record() -> None:
        if t > times[-1]:
            times.append(t)
            dists.append(s)

    for leg, expected in enumerate(leg_durations_s):
        start_m, end_m = float(bounds[leg]), float(bounds[leg + 1])
        length = end_m - start_m
        if length > 0.0:
            expected_s = max(float(expected), 0.0)
            pauses = _brief_stops(start_m, end_m, expected_s, junctions, rng, cfg)
            moving_s = expected_s - sum(p for _, p in pauses)
            base = cfg.max_speed_mps if moving_s <= 0 else length / moving_s
            v = 0.0
            for target_m, pause_s in [*pauses, (end_m, 0.0)]:
                while s < target_m:
                    cruise = min(base * factor.step(), cfg.max_speed_mps)
                    brake = max(math.sqrt(2.0 * cfg.decel_mps2 * (target_m - s)), cfg.creep_mps)
                    v = min(cruise, v + cfg.accel_mps2 * cfg.step_s, brake)
                    if v * cfg.step_s >= target_m - s:
                        t += (target_m - s) / v
                        s = target_m
                    else:
                        t += cfg.step_s
                        s += v * cfg.step_s
                    record()
                v = 0.0
                if pause_s > 0.0:
                    brief_count += 1
                    t += pause_s
                    record()
        s = end_m  # guards against float drift; the vehicle is at the stop
        arrived = t
        ready = ready_s[leg] if ready_s is not None else None
        if ready is not None and ready > t:
            t = ready  # early: wait for the window to open
            record()
        noise = cfg.service_time_noise
        dwell_factor = 1.0 + float(np.clip(rng.normal(0.0, noise / 2.0), -noise, noise))
        t += max(float(service_times_s[leg]), 0.0) * dwell_factor
        record()
        visits.append(StopVisit(arrived, t))

    return Trajectory(
        polyline=polyline,
        start_at=start_at,
        times_s=np.asarray(times, dtype=np.float64),
        distances_m=np.asarray(dists, dtype=np.float64),
        visits=tuple(visits),
        brief_stops=brief_count,
    )
