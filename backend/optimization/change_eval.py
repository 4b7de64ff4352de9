"""Judging a change to a driver's stop order before it is made: when each stop is reached,
which miss their window, how long the driving, and where a new order's stops go so its
route suffers least. Pure: road times come in as a matrix, times are epoch seconds.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from backend.eta.estimate import StopEta, StopPlan, estimate

Matrix = Sequence[Sequence[float]]


@dataclass(frozen=True, slots=True)
class Visit:
    """A stop still to do, with the index of its place in the road matrix."""

    stop_id: int
    order_id: int
    point: int
    service_s: float
    window_start: float | None = None
    window_end: float | None = None


@dataclass(frozen=True, slots=True)
class Walk:
    """A sequence driven from where and when the vehicle is free."""

    etas: tuple[StopEta, ...]
    drive_s: float

    @property
    def late(self) -> tuple[StopEta, ...]:
        return tuple(eta for eta in self.etas if eta.late_by_s > 0)

    def score(self) -> tuple[int, float, float]:
        """Fewer late stops first, then less total lateness, then less driving."""
        late = self.late
        return (len(late), sum(eta.late_by_s for eta in late), self.drive_s)


def walk(start_point: int, start_s: float, visits: Sequence[Visit], durations: Matrix) -> Walk:
    """Drive ``visits`` in order from ``start_point``, free from ``start_s``; a stop is
    served once its window opens."""
    legs: list[float] = []
    here = start_point
    for visit in visits:
        legs.append(durations[here][visit.point])
        here = visit.point
    plans = [
        StopPlan(v.stop_id, v.order_id, v.service_s, v.window_start, v.window_end) for v in visits
    ]
    return Walk(tuple(estimate(start_s, plans, legs)), sum(legs))


def insert(
    visits: Sequence[Visit],
    pickup: Visit | None,
    dropoff: Visit,
    *,
    start_point: int,
    start_s: float,
    durations: Matrix,
) -> list[Visit]:
    """``visits`` with ``dropoff`` (after ``pickup``, when there is one) put where the
    route's score is best; the other stops keep their order. Ties go to the earliest place."""
    best: tuple[tuple[int, float, float], list[Visit]] | None = None
    n = len(visits)
    pickup_places = range(n + 1) if pickup is not None else [None]
    for i in pickup_places:
        with_pickup = (
            list(visits) if i is None or pickup is None else [*visits[:i], pickup, *visits[i:]]
        )
        first_dropoff = 0 if i is None else i + 1
        for j in range(first_dropoff, len(with_pickup) + 1):
            candidate = [*with_pickup[:j], dropoff, *with_pickup[j:]]
            score = walk(start_point, start_s, candidate, durations).score()
            if best is None or score < best[0]:
                best = (score, candidate)
    assert best is not None  # there is always at least one place: the end
    return best[1]
