"""Keep Python's cyclic garbage collector from pausing the server for a quarter second.

Measured under ``bench/ingest.py`` (15,000 fixes/s): full (generation 2) collections took
190-270 ms each, every few seconds, and found almost nothing: they walked every object the
server built at start (modules, the app, SQLAlchemy and pydantic internals, the road network)
on every pass. Those pauses, not the work per fix, set the p99 fix-to-dispatcher latency.
``gc.freeze()`` after start moves those objects out of the collector's sight for good (they
live as long as the process anyway); cycles made later are still collected.

The high thresholds keep collections rare under a steady load, but they let a *burst* of
long-lived objects pile up in generation 1: 3,000 sockets opening within a minute leave
~600,000 objects (coroutines, tasks, queues, protocol state) that all meet in one
generation-1 pass of ~0.5 s, seconds later, in the middle of the traffic. :class:`SurvivorWatch`
counts what waits in generation 1 after each young collection and makes the next collection
a generation-1 one when that is more than a short pass can walk, so such a burst is
collected in passes of tens of milliseconds; under a steady load little survives and the
rare passes stay rare.
"""

import gc
from collections.abc import Callable
from typing import Any

# Python's defaults are (2000, 10, 10)
THRESHOLDS = (50_000, 20, 100)
# Objects waiting in generation 1 after which it is collected at the next collection: a
# pass over them and the young ones takes some tens of milliseconds on the server's objects.
SURVIVORS = 30_000


def _in_generation_1() -> int:
    return len(gc.get_objects(1))  # ~1 ms per 50,000 objects


class SurvivorWatch:
    """A ``gc.callbacks`` entry: after a young collection, if ``limit`` objects or more
    wait in generation 1, set its threshold to 0 so the next automatic collection includes
    it; the threshold goes back afterwards. Generation 2's threshold (counted in
    generation-1 passes) is raised by the number of early passes, so full collections stay
    as rare as without them.

    ``survivors`` and ``set_threshold`` are parameters for the tests."""

    def __init__(
        self,
        limit: int = SURVIVORS,
        thresholds: tuple[int, int, int] = THRESHOLDS,
        *,
        survivors: Callable[[], int] = _in_generation_1,
        set_threshold: Callable[..., None] = gc.set_threshold,
    ) -> None:
        self.limit = limit
        self.thresholds = thresholds
        self._survivors = survivors
        self._set_threshold = set_threshold
        self.early = False  # the next collection is made a generation-1 one
        self._extra = 0  # early passes since the last full one
        self.forced = 0  # how many times (for tests and curiosity)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop":
            return
        young, middle, old = self.thresholds
        generation = info["generation"]
        if generation >= 1:
            if generation == 2:
                self._extra = 0
            if self.early or generation == 2:
                # An early pass must not bring the next full one closer: a full pass
                # walks every object the server holds (~1 s with thousands of sockets).
                self.early = False
                self._set_threshold(young, middle, old + self._extra)
            return
        if not self.early and self._survivors() >= self.limit:
            self.early = True
            self.forced += 1
            self._extra += 1
            self._set_threshold(young, 0, old + self._extra)


_watch: SurvivorWatch | None = None


def settle_heap() -> None:
    """Collect once, then freeze everything alive now; call when start-up is done."""
    global _watch
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    if _watch is None:
        _watch = SurvivorWatch()
        gc.callbacks.append(_watch)
