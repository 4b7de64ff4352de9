"""The cleaning chain: small named steps, each one rejection reason (pure; no I/O).

Steps run in a fixed order; the first that objects names the reason. A batch is examined in
chronological order (ties keep the sender's order) so "consecutive" means consecutive in
time, whatever order an offline replay arrives in. Fixes older than the driver's current
position are accepted for history but flagged ``history_only``: they never move the current
position backwards.
"""

import math
import operator
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field

from backend.locations.current import micros
from backend.locations.fix import Fix, Rejected, Rejection
from shared.geo import EARTH_RADIUS_M, Point, haversine_m


@dataclass(frozen=True, slots=True)
class CleaningConfig:
    max_clock_skew_s: float = 300.0  # a phone clock this far ahead is still believed
    max_age_s: float = 2 * 86_400.0  # older fixes are refused (offline replays up to 2 days)
    max_accuracy_m: float = 200.0  # a larger 68 % radius is too vague to show or store
    max_speed_mps: float = 70.0  # 252 km/h between consecutive fixes is a GPS jump


@dataclass(slots=True)
class Accepted:
    index: int  # position in the sender's batch
    fix: Fix
    history_only: bool  # older than the current position: stored, never shown as current


@dataclass(slots=True)
class Cleaned:
    """A batch's outcome. The accepted fixes are kept as parallel lists (one object per
    batch, not one per fix: this runs for every fix at 20,000 fixes/s); :attr:`accepted`
    gives them as :class:`Accepted` items."""

    fixes: list[Fix] = field(default_factory=list)  # accepted, in batch order
    indexes: list[int] = field(default_factory=list)  # their positions in the sender's batch
    history: list[bool] = field(default_factory=list)  # each one: history only?
    rejected: list[Rejected] = field(default_factory=list)  # in batch order
    newest: Accepted | None = None  # the newest fix that may become the current position
    history_only: int = 0  # how many accepted fixes are history only

    @property
    def accepted(self) -> list[Accepted]:
        return list(map(Accepted, self.indexes, self.fixes, self.history))

    @property
    def fresh(self) -> list[Fix]:
        """The accepted fixes that are not history only (may move the driver)."""
        if not self.history_only:
            return self.fixes
        return [f for f, old in zip(self.fixes, self.history, strict=True) if not old]


@dataclass(slots=True)
class Context:
    """What a step may look at besides the fix itself."""

    now: float  # epoch seconds
    config: CleaningConfig
    previous: Fix | None  # the accepted fix just before this one in time, if known
    # recorded_at values already accepted for this driver: the current position's, the
    # driver's recent ones (as whole microseconds, :func:`micros`), and this batch's so far
    current_at: float
    seen: Container[int]
    seen_in_batch: set[float] = field(default_factory=set)


Step = Callable[[Fix, Context], str | None]  # a message when the fix is refused


def invalid(fix: Fix, ctx: Context) -> str | None:
    isfinite = math.isfinite
    if not (isfinite(fix.lat) and isfinite(fix.lng) and isfinite(fix.recorded_at)):
        return "lat, lng and recorded_at must be finite numbers"
    for v in (fix.speed_mps, fix.heading_deg, fix.accuracy_m, fix.altitude_m, fix.battery):
        if v is not None and not isfinite(v):
            return "speed, heading, accuracy, altitude and battery must be finite when given"
    if not -90.0 <= fix.lat <= 90.0:
        return f"lat {fix.lat} is outside [-90, 90]"
    if not -180.0 <= fix.lng <= 180.0:
        return f"lng {fix.lng} is outside [-180, 180]"
    if fix.accuracy_m is not None and fix.accuracy_m < 0:
        return "accuracy_m must not be negative"
    return None


def zero(fix: Fix, ctx: Context) -> str | None:
    if fix.lat == 0.0 and fix.lng == 0.0:
        return "(0, 0) is a phone without a fix yet"
    return None


def future(fix: Fix, ctx: Context) -> str | None:
    ahead = fix.recorded_at - ctx.now
    if ahead > ctx.config.max_clock_skew_s:
        allowed = ctx.config.max_clock_skew_s
        return f"recorded_at is {ahead:.0f} s in the future (allowed: {allowed:.0f} s)"
    return None


def too_old(fix: Fix, ctx: Context) -> str | None:
    age = ctx.now - fix.recorded_at
    if age > ctx.config.max_age_s:
        return f"recorded_at is {age:.0f} s old (kept: {ctx.config.max_age_s:.0f} s)"
    return None


def poor_accuracy(fix: Fix, ctx: Context) -> str | None:
    if fix.accuracy_m is not None and fix.accuracy_m > ctx.config.max_accuracy_m:
        return f"accuracy {fix.accuracy_m:.0f} m is worse than {ctx.config.max_accuracy_m:.0f} m"
    return None


def duplicate(fix: Fix, ctx: Context) -> str | None:
    t = fix.recorded_at
    if t == ctx.current_at or t in ctx.seen_in_batch or micros(t) in ctx.seen:
        return "a fix with this recorded_at was already accepted"
    return None


# Metres per degree along a great circle, with a margin for rounding: the great-circle
# distance is never more than R * (|dlat| + |dlng|) in radians (a path north-south, then
# along a parallel, is at least as long), so this bounds it cheaply from above.
_METRES_PER_DEGREE_BOUND = EARTH_RADIUS_M * math.pi / 180 * 1.000001


def impossible_speed(fix: Fix, ctx: Context) -> str | None:
    prev = ctx.previous
    if prev is None:
        return None
    dt = abs(fix.recorded_at - prev.recorded_at)
    limit = ctx.config.max_speed_mps
    bound = (abs(fix.lat - prev.lat) + abs(fix.lng - prev.lng)) * _METRES_PER_DEGREE_BOUND
    if bound <= limit * dt:  # the usual case: clearly plausible, no trigonometry needed
        return None
    distance = haversine_m(Point(prev.lat, prev.lng), Point(fix.lat, fix.lng))
    speed = (math.inf if distance > 0 else 0.0) if dt == 0 else distance / dt
    if speed > limit:
        return f"implied speed {speed:.0f} m/s from the previous fix exceeds {limit:.0f} m/s"
    return None


STEPS: tuple[tuple[Rejection, Step], ...] = (
    (Rejection.INVALID, invalid),
    (Rejection.ZERO, zero),
    (Rejection.FUTURE, future),
    (Rejection.TOO_OLD, too_old),
    (Rejection.POOR_ACCURACY, poor_accuracy),
    (Rejection.DUPLICATE, duplicate),
    (Rejection.IMPOSSIBLE_SPEED, impossible_speed),
)


_INF = math.inf


def _plainly_fine(
    fix: Fix,
    now: float,
    config: CleaningConfig,
    previous: Fix | None,
    current_at: float,
    seen: Container[int],
    seen_in_batch: set[float],
) -> bool:
    """True only if every step of :data:`STEPS` would let ``fix`` through: the same tests,
    inlined, in one call instead of seven (the steps ran ~4.4 µs a fix, the largest single
    cost of the ingest loop at 20,000 fixes/s). Every comparison is False for NaN and the
    infinities are excluded outright, so an unusual fix answers False and goes through the
    steps, which name the reason. ``tests/backend/locations/test_cleaning.py`` checks that
    the two agree on generated fixes."""
    lat, lng, t, _, speed, heading, accuracy, altitude, battery, _ = fix
    if not (
        -90.0 <= lat <= 90.0
        and -180.0 <= lng <= 180.0
        and (lat != 0.0 or lng != 0.0)
        and -_INF < t < _INF
        and t - now <= config.max_clock_skew_s
        and now - t <= config.max_age_s
        and (accuracy is None or (0.0 <= accuracy < _INF and accuracy <= config.max_accuracy_m))
        and (speed is None or -_INF < speed < _INF)
        and (heading is None or -_INF < heading < _INF)
        and (altitude is None or -_INF < altitude < _INF)
        and (battery is None or -_INF < battery < _INF)
        and t != current_at
        and t not in seen_in_batch
        and int(t * 1_000_000) not in seen  # micros(t), inlined
    ):
        return False
    if previous is None:
        return True
    bound = (abs(lat - previous.lat) + abs(lng - previous.lng)) * _METRES_PER_DEGREE_BOUND
    return bound <= config.max_speed_mps * abs(t - previous.recorded_at)


def _refusal(fix: Fix, ctx: Context) -> tuple[Rejection, str] | None:
    """The first step that refuses ``fix`` and its message (None: every step lets it by)."""
    for reason, step in STEPS:
        message = step(fix, ctx)
        if message is not None:
            return reason, message
    return None


def _sort_key(item: tuple[int, Fix]) -> tuple[float, int]:
    t = item[1].recorded_at
    return (t if math.isfinite(t) else math.inf, item[0])


def clean(
    fixes: Sequence[Fix],
    last_current: Fix | None,
    now: float,
    config: CleaningConfig,
    seen: Container[int] = frozenset(),
) -> Cleaned:
    """Run every fix of one driver's batch through :data:`STEPS`.

    ``last_current`` is the driver's current position before this batch; ``seen`` the
    recorded_at values recently accepted for the driver, as whole microseconds
    (:func:`micros`; duplicates of a retried batch).
    """
    current_at = last_current.recorded_at if last_current is not None else -math.inf
    seen_in_batch: set[float] = set()
    ctx: Context | None = None  # made for the first unusual fix only
    times = [f.recorded_at for f in fixes]
    in_order = all(map(math.isfinite, times)) and all(map(operator.le, times, times[1:]))
    # Chronological order (ties keep the sender's), usually the order sent.
    order = enumerate(fixes) if in_order else sorted(enumerate(fixes), key=_sort_key)
    previous: Fix | None = None
    result = Cleaned()
    kept, indexes, history, rejected = result.fixes, result.indexes, result.history, result.rejected
    newest = -1  # where in ``kept`` the newest fix that may become current is
    old = 0
    for index, fix in order:
        # Consecutive in time: once past the current position, it is the one to compare to.
        if (
            last_current is not None
            and fix.recorded_at > current_at
            and (previous is None or previous.recorded_at < current_at)
        ):
            previous = last_current
        if not _plainly_fine(fix, now, config, previous, current_at, seen, seen_in_batch):
            if ctx is None:
                ctx = Context(now, config, previous, current_at, seen, seen_in_batch)
            ctx.previous = previous
            refused = _refusal(fix, ctx)
            if refused is not None:
                rejected.append(Rejected(index, *refused))
                continue
        history_only = fix.recorded_at < current_at
        if history_only:
            old += 1
        else:
            newest = len(kept)  # the newest so far, in time order
        kept.append(fix)
        indexes.append(index)
        history.append(history_only)
        seen_in_batch.add(fix.recorded_at)
        previous = fix
    result.history_only = old
    if newest >= 0:
        result.newest = Accepted(indexes[newest], kept[newest], False)
    if not in_order:
        rows = sorted(zip(indexes, kept, history, strict=True), key=operator.itemgetter(0))
        result.indexes = [row[0] for row in rows]
        result.fixes = [row[1] for row in rows]
        result.history = [row[2] for row in rows]
        rejected.sort(key=lambda r: r.index)
    return result
