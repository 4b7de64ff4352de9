"""Phone-like GPS fixes from a true trajectory: pure, seeded, no I/O.

What a phone's fused location looks like, roughly:

- a fix every ``interval_s`` seconds, timestamped in UTC;
- an accuracy radius (``accuracy_m``, metres) that drifts smoothly between 3 and 15 m, and
  a position error that matches it: ``accuracy_m`` is the radius of 68 % confidence, as
  Android's ``Location.getAccuracy`` defines it, so the per-axis standard deviation is
  ``accuracy_m / 1.51`` (the 68th percentile of a Rayleigh distribution is 1.51 sigma); the error
  is correlated over time (a receiver's error wanders, it does not jump);
- now and then an outlier: tens to hundreds of metres off while claiming normal accuracy;
- gaps: runs of missing fixes (tunnels, garages), separated so each stays bounded;
- Doppler speed (m/s, small noise), heading (degrees from north; None while standing
  still, as phones report no bearing then), altitude without a terrain model (a base
  height plus noise) and a battery level (percent) that drains slowly.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import numpy as np

from backend.simulator.motion import Trajectory
from shared.geo import EARTH_RADIUS_M, Point

# 68th percentile of a Rayleigh distribution with sigma = 1: sqrt(-2 ln 0.32).
RADIUS_68_PER_SIGMA = math.sqrt(-2.0 * math.log(0.32))


@dataclass(frozen=True, slots=True)
class Fix:
    """One location fix as a phone sends it (the fields of the ingest endpoint, issue 4).

    ``recorded_at`` is timezone-aware UTC; ``speed_mps`` in m/s; ``heading_deg`` degrees
    clockwise from north (None when not moving); ``accuracy_m`` and ``altitude_m`` in
    metres; ``battery`` in percent (0-100).
    """

    lat: float
    lng: float
    recorded_at: datetime
    speed_mps: float
    heading_deg: float | None
    accuracy_m: float
    altitude_m: float
    battery: float

    def to_json(self) -> dict[str, Any]:
        return {
            "lat": self.lat,
            "lng": self.lng,
            "recorded_at": self.recorded_at.isoformat(),
            "speed_mps": self.speed_mps,
            "heading_deg": self.heading_deg,
            "accuracy_m": self.accuracy_m,
            "altitude_m": self.altitude_m,
            "battery": self.battery,
        }


class SimulatedFix(NamedTuple):
    """A fix with the truth behind it, for tests and benchmarks (never sent)."""

    fix: Fix
    true_point: Point
    outlier: bool


@dataclass(frozen=True, slots=True)
class GpsConfig:
    """Receiver behaviour. Seconds, metres, percent."""

    interval_s: float = 5.0
    accuracy_range_m: tuple[float, float] = (3.0, 15.0)
    accuracy_correlation_s: float = 120.0  # how long a clear-sky or urban-canyon spell lasts
    error_correlation_s: float = 15.0  # how long the position error keeps its direction
    outlier_probability: float = 0.01  # per fix
    outlier_offset_m: tuple[float, float] = (60.0, 400.0)
    gaps_per_hour: float = 1.5
    gap_s: tuple[float, float] = (20.0, 180.0)  # a gap's length; bounds every gap
    min_gap_spacing_s: float = 60.0  # at least this much signal between two gaps
    speed_noise_mps: float = 0.3
    heading_noise_deg: float = 4.0
    moving_threshold_mps: float = 0.5  # below this a phone reports no heading
    altitude_m: float = 40.0
    altitude_noise_m: float = 5.0
    battery_start_pct: tuple[float, float] = (55.0, 100.0)
    battery_drain_pct_per_h: tuple[float, float] = (5.0, 12.0)

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ValueError("interval_s must be positive")
        low, high = self.accuracy_range_m
        if not 0 < low <= high:
            raise ValueError("accuracy_range_m must be 0 < low <= high")
        if not 0 <= self.gap_s[0] <= self.gap_s[1]:
            raise ValueError("gap_s must be 0 <= low <= high")


def offset_point(p: Point, north_m: float, east_m: float) -> Point:
    """``p`` moved ``north_m`` and ``east_m`` metres (local flat-Earth approximation)."""
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlng = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(p.lat))))
    return Point(p.lat + dlat, p.lng + dlng)


def gap_windows(
    duration_s: float, rng: np.random.Generator, config: GpsConfig
) -> list[tuple[float, float]]:
    """Non-overlapping (start s, end s) spans without signal, within ``[0, duration_s]``."""
    if config.gaps_per_hour <= 0:
        return []
    mean_spacing_s = 3600.0 / config.gaps_per_hour
    windows: list[tuple[float, float]] = []
    t = float(rng.exponential(mean_spacing_s))
    while t < duration_s:
        length = float(rng.uniform(*config.gap_s))
        windows.append((t, min(t + length, duration_s)))
        t += length + config.min_gap_spacing_s + float(rng.exponential(mean_spacing_s))
    return windows


def _ar1(rng: np.random.Generator, n: int, keep: float, shape: tuple[int, ...] = ()) -> Any:
    """Unit-variance AR(1) series of length ``n`` with lag-one correlation ``keep``."""
    fresh = math.sqrt(max(1.0 - keep * keep, 0.0))
    out = np.empty((n, *shape), dtype=np.float64)
    x = rng.standard_normal(shape)
    for k in range(n):
        x = keep * x + fresh * rng.standard_normal(shape) if k else x
        out[k] = x
    return out


def sample_fixes(
    trajectory: Trajectory, rng: np.random.Generator, config: GpsConfig | None = None
) -> list[SimulatedFix]:
    """The fixes a phone riding along ``trajectory`` would record, in time order."""
    cfg = config or GpsConfig()
    n = math.floor(trajectory.duration_s / cfg.interval_s) + 1
    times = np.arange(n, dtype=np.float64) * cfg.interval_s

    # Accuracy drifts in log space between its bounds; the error is a unit AR(1) vector
    # scaled by the accuracy of the moment.
    low, high = cfg.accuracy_range_m
    acc_keep = math.exp(-cfg.interval_s / cfg.accuracy_correlation_s)
    acc_unit = _ar1(rng, n, acc_keep)
    mid, half = (math.log(low) + math.log(high)) / 2, (math.log(high) - math.log(low)) / 2
    accuracy = np.exp(mid + half * np.tanh(acc_unit))
    err_keep = math.exp(-cfg.interval_s / cfg.error_correlation_s)
    error = _ar1(rng, n, err_keep, (2,)) * (accuracy / RADIUS_68_PER_SIGMA)[:, None]

    outlier = rng.random(n) < cfg.outlier_probability
    outlier_r = rng.uniform(*cfg.outlier_offset_m, n)
    outlier_dir = rng.uniform(0.0, 2 * math.pi, n)
    speed_noise = rng.normal(0.0, cfg.speed_noise_mps, n)
    heading_noise = rng.normal(0.0, cfg.heading_noise_deg, n)
    altitude = cfg.altitude_m + cfg.altitude_noise_m * _ar1(rng, n, err_keep)
    battery_start = float(rng.uniform(*cfg.battery_start_pct))
    drain_per_s = float(rng.uniform(*cfg.battery_drain_pct_per_h)) / 3600.0
    gaps = gap_windows(trajectory.duration_s, rng, cfg)

    fixes: list[SimulatedFix] = []
    gap_index = 0
    for k in range(n):
        t = float(times[k])
        while gap_index < len(gaps) and gaps[gap_index][1] < t:
            gap_index += 1
        if gap_index < len(gaps) and gaps[gap_index][0] <= t <= gaps[gap_index][1]:
            continue
        truth = trajectory.position_at(t)
        if outlier[k]:
            north = outlier_r[k] * math.cos(outlier_dir[k])
            east = outlier_r[k] * math.sin(outlier_dir[k])
        else:
            north, east = float(error[k, 0]), float(error[k, 1])
        seen = offset_point(truth.point, north, east)
        moving = truth.speed_mps >= cfg.moving_threshold_mps
        speed = max(truth.speed_mps + float(speed_noise[k]), 0.0) if moving else 0.0
        heading = (truth.heading_deg + float(heading_noise[k])) % 360.0 if moving else None
        fix = Fix(
            lat=round(seen.lat, 7),
            lng=round(seen.lng, 7),
            recorded_at=trajectory.start_at + timedelta(seconds=t),
            speed_mps=round(speed, 2),
            heading_deg=None if heading is None else round(heading, 1) % 360.0,
            accuracy_m=round(float(accuracy[k]), 1),
            altitude_m=round(float(altitude[k]), 1),
            battery=float(round(max(battery_start - drain_per_s * t, 1.0))),
        )
        fixes.append(SimulatedFix(fix, truth.point, bool(outlier[k])))
    return fixes
