"""ETAs along a driver's remaining stops: pure arithmetic, no routing call, no clock.

The caller routes the driver's position through the remaining stops (the routing port's
free-flow leg durations) and says how the driver's pace compares with them; this walks
the stops in order: drive (leg x pace), arrive, wait for the window to open, serve.
Times are epoch seconds.
"""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StopPlan:
    """A remaining stop as the ETA needs it."""

    stop_id: int
    order_id: int
    service_s: float
    window_start: float | None = None
    window_end: float | None = None
    arrived_at: float | None = None  # the driver is at this stop since then


@dataclass(frozen=True, slots=True)
class StopEta:
    stop_id: int
    order_id: int
    eta: float  # when the driver gets there (before any wait for the window)
    departure: float  # when they leave, served
    window_end: float | None = None

    @property
    def late_by_s(self) -> float:
        """How far past the window's end the arrival is (≤ 0: in time)."""
        return self.eta - self.window_end if self.window_end is not None else float("-inf")


def estimate(
    now: float,
    stops: Sequence[StopPlan],
    legs_s: Sequence[float],
    pace: float = 1.0,
    extra_service_s: float = 0.0,
) -> list[StopEta]:
    """ETAs for ``stops`` in order. ``legs_s[0]`` is the free-flow time from the driver's
    position to ``stops[0]`` (ignored when the driver is already there), ``legs_s[i]``
    from stop ``i-1`` to stop ``i``. ``pace``: the driver's time per free-flow second;
    ``extra_service_s``: how much longer than planned a stop takes them on average."""
    if len(legs_s) != len(stops):
        raise ValueError(f"need one leg per stop: {len(stops)} stops, {len(legs_s)} legs")
    if not pace > 0:
        raise ValueError("pace must be above 0")
    out: list[StopEta] = []
    t = now
    for i, (stop, leg) in enumerate(zip(stops, legs_s, strict=True)):
        if i == 0 and stop.arrived_at is not None:
            arrival = min(stop.arrived_at, now)
            start = max(arrival, stop.window_start or arrival)
            # Still there: they leave once served, and not before now.
            departure = max(start + max(stop.service_s + extra_service_s, 0.0), now)
        else:
            arrival = t + max(leg, 0.0) * pace
            start = max(arrival, stop.window_start or arrival)
            departure = start + max(stop.service_s + extra_service_s, 0.0)
        out.append(StopEta(stop.stop_id, stop.order_id, arrival, departure, stop.window_end))
        t = departure
    return out
