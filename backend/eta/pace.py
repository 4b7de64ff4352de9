"""How a driver compares with the plan, learnt as the day goes: their pace against the
routing engine's free-flow times, and how much longer than planned their stops take.


A leg runs from the first ETA refresh after the driver set off towards a stop to their
arrival there: its actual time over the engine's time for it is one observation. Legs are
weighted by their length and older ones fade (``half_life_s`` of driving), so a driver
stuck in the afternoon traffic is not judged by the empty morning roads. A prior of
``prior_s`` free-flow seconds at pace 1.0 keeps the first, short legs from swinging it.
"""

from dataclasses import dataclass

MIN_PACE, MAX_PACE = 0.6, 2.5


@dataclass(slots=True)
class Pace:
    prior_s: float = 600.0
    half_life_s: float = 3600.0
    actual_s: float = 0.0  # faded sums of the observed legs
    expected_s: float = 0.0

    @property
    def value(self) -> float:
        ratio = (self.prior_s + self.actual_s) / (self.prior_s + self.expected_s)
        return min(max(ratio, MIN_PACE), MAX_PACE)

    def observe(self, actual_s: float, expected_s: float) -> None:
        """One leg driven in ``actual_s`` where the engine said ``expected_s``."""
        if expected_s <= 0 or actual_s <= 0:
            return
        # Ignore a leg so far off that it was surely not driven straight (a lunch break).
        if not MIN_PACE / 2 <= actual_s / expected_s <= MAX_PACE * 2:
            return
        fade = 0.5 ** (actual_s / self.half_life_s)
        self.actual_s = self.actual_s * fade + actual_s
        self.expected_s = self.expected_s * fade + expected_s


@dataclass(slots=True)
class Overrun:
    """Seconds a stop takes beyond its planned service time, on average (faded, with a
    prior of ``prior_stops`` stops on plan): the doorbell nobody answers, the stairs."""

    prior_stops: float = 3.0
    fade: float = 0.9  # each new stop weighs the older ones down by this much
    total_s: float = 0.0
    count: float = 0.0

    @property
    def value(self) -> float:
        return max(self.total_s / (self.prior_stops + self.count), -120.0)

    def observe(self, actual_s: float, planned_s: float) -> None:
        if actual_s < 0:
            return
        self.total_s = self.total_s * self.fade + min(actual_s - planned_s, 3600.0)
        self.count = self.count * self.fade + 1.0
