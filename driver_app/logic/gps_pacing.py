"""How often to take a GPS fix, when to send the fixes taken, and when to stop (pure).

Moving, a fix every 5 to 10 s (the faster, the more often: about every 50 to 150 m in town);
stopped, every 30 s at first, stretching to 60 s the longer the stop lasts. Two thresholds
and a dwell time keep the mode from flapping: a driver counts as moving again at once above
``start_moving_mps`` (a departure is never missed), but as stopped only after every fix of
the last ``stopped_after_s`` was slower than ``stop_below_mps`` (a red light is not a stop).
Fixes without a speed (some browsers) get one from the distance to the previous fix.
"""

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from shared.enums import DriverStatus
from shared.geo import Point, haversine_m


class Motion(StrEnum):
    MOVING = "moving"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Sample:
    """What pacing needs of a fix: when (seconds, any steady origin), where, how fast."""

    at_s: float
    lat: float
    lng: float
    speed_mps: float | None = None


@dataclass(frozen=True, slots=True)
class PacingConfig:
    """Intervals in seconds, speeds in m/s."""

    moving_min_s: float = 5.0
    moving_max_s: float = 10.0
    stopped_min_s: float = 30.0
    stopped_max_s: float = 60.0
    start_moving_mps: float = 2.5  # 9 km/h: faster than anyone walks to a door
    stop_below_mps: float = 1.0  # slower than this, for stopped_after_s: stopped
    stopped_after_s: float = 60.0
    fast_mps: float = 14.0  # 50 km/h and faster: the shortest interval
    settled_after_s: float = 300.0  # stopped this long: the longest interval

    def __post_init__(self) -> None:
        if not 0 < self.moving_min_s <= self.moving_max_s <= self.stopped_min_s:
            raise ValueError("intervals: 0 < moving_min <= moving_max <= stopped_min")
        if self.stopped_min_s > self.stopped_max_s:
            raise ValueError("intervals: stopped_min <= stopped_max")
        if not 0 <= self.stop_below_mps < self.start_moving_mps < self.fast_mps:
            raise ValueError("speeds: stop_below < start_moving < fast")


def speed_between(previous: Sample | None, sample: Sample) -> float | None:
    """The sample's own speed, else the straight-line speed from ``previous`` (m/s)."""
    if sample.speed_mps is not None:
        return sample.speed_mps
    if previous is None or sample.at_s <= previous.at_s:
        return None
    metres = haversine_m(Point(previous.lat, previous.lng), Point(sample.lat, sample.lng))
    return metres / (sample.at_s - previous.at_s)


def next_motion(current: Motion, recent: Sequence[Sample], config: PacingConfig) -> Motion:
    """The mode after the newest of ``recent`` (oldest first)."""
    if not recent:
        return current
    previous: list[Sample | None] = [None, *recent]
    speeds = [speed_between(a, b) for a, b in zip(previous, recent, strict=False)]
    latest, newest_speed = recent[-1], speeds[-1]
    if current is Motion.STOPPED:
        fast = newest_speed is not None and newest_speed >= config.start_moving_mps
        return Motion.MOVING if fast else Motion.STOPPED
    window_start = latest.at_s - config.stopped_after_s
    if recent[0].at_s > window_start:
        return Motion.MOVING  # not slow for long enough yet, whatever the speeds
    in_window = [v for s, v in zip(recent, speeds, strict=True) if s.at_s >= window_start]
    slow = all(v is not None and v < config.stop_below_mps for v in in_window)
    return Motion.STOPPED if slow else Motion.MOVING


def interval_s(
    motion: Motion, speed_mps: float | None, stopped_for_s: float, config: PacingConfig
) -> float:
    """Seconds until the next fix."""
    if motion is Motion.MOVING:
        span = config.fast_mps - config.start_moving_mps
        share = _clamp(((speed_mps or 0.0) - config.start_moving_mps) / span)
        return config.moving_max_s - share * (config.moving_max_s - config.moving_min_s)
    share = _clamp(stopped_for_s / config.settled_after_s)
    return config.stopped_min_s + share * (config.stopped_max_s - config.stopped_min_s)


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)


class Pacer:
    """Follows the fixes as they come and says when to take the next one."""

    def __init__(self, config: PacingConfig | None = None) -> None:
        self.config = config or PacingConfig()
        # Enough history to see a whole dwell window at the shortest interval.
        self._recent: deque[Sample] = deque()
        self.motion = Motion.MOVING  # until known: fixes come often at the start
        self._since_s: float | None = None  # when the current mode began
        self.interval_s = self.config.moving_max_s

    def observe(self, sample: Sample) -> float:
        """Take ``sample`` into account; the seconds to wait before the next fix."""
        if self._recent and sample.at_s <= self._recent[-1].at_s:
            return self.interval_s  # a late or repeated fix says nothing new
        self._recent.append(sample)
        horizon = sample.at_s - 2 * self.config.stopped_after_s
        while len(self._recent) > 2 and self._recent[1].at_s <= horizon:
            self._recent.popleft()  # keep one fix older than the dwell window
        motion = next_motion(self.motion, self._recent, self.config)
        if motion is not self.motion or self._since_s is None:
            self.motion, self._since_s = motion, sample.at_s
        previous = self._recent[-2] if len(self._recent) > 1 else None
        speed = speed_between(previous, sample)
        self.interval_s = interval_s(self.motion, speed, sample.at_s - self._since_s, self.config)
        return self.interval_s


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """Fixes leave together: at most ``max_size`` at once, and none waits longer than
    ``max_age_s`` once the network is there (a live map wants them soon)."""

    max_size: int = 100
    max_age_s: float = 15.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_size <= 500:  # the server takes 500 at most
            raise ValueError("a batch holds 1 to 500 fixes")
        if self.max_age_s < 0:
            raise ValueError("max_age_s must not be negative")

    def wait_s(self, count: int, oldest_age_s: float) -> float | None:
        """Seconds until the queued fixes are due (0: now); None when there are none."""
        if count <= 0:
            return None
        if count >= self.max_size:
            return 0.0
        return max(0.0, self.max_age_s - oldest_age_s)


def batches[T](items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` cut into consecutive batches of at most ``size``, order kept."""
    if size < 1:
        raise ValueError("a batch holds at least one item")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def streams_in(status: DriverStatus | None) -> bool:
    """GPS runs while the driver is on shift (a break included), not once it ended."""
    return status is not None and status is not DriverStatus.OFFLINE
