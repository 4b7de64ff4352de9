"""Keep Python's cyclic garbage collector from pausing the server for a quarter second.

Measured under ``bench/ingest.py`` (15,000 fixes/s): full (generation 2) collections took
190-270 ms each, every few seconds, and found almost nothing: they walked every object the
server built at start (modules, the app, SQLAlchemy and pydantic internals, the road network)
on every pass. Those pauses, not the work per fix, set the p99 fix-to-dispatcher latency.
``gc.freeze()`` after start moves those objects out of the collector's sight for good (they
live as long as the process anyway); cycles made later are still collected.

The high thresholds keep collections rare under a steady load (at 20,000 fixes/s the young
generation rarely reaches 50,000: what the pipeline makes it frees), but a *burst* of
long-lived objects meets them in big passes: 2,000 sockets opening within seconds leave
~230,000 objects (coroutines, tasks, queues, protocol state), and with a young pass every
50,000 of them, each also walking what the last one left in generation 1, the passes took
35-110 ms each while the traffic went on. :class:`SurvivorWatch` notices the burst (many
objects outlive a young pass) and collects it in small passes: a young pass every
10,000 objects, each second one including generation 1, as long as most of what each pass
walks survives it; then the steady thresholds return.

With these thresholds a full collection comes about never, so a cycle that a pass moved to
generation 2 while it was still in use stays there once it is garbage. :class:`FullCollections`
runs one every ``LASTMILE_GC_FULL_EVERY_S`` (60) seconds, but only if a generation-1 pass
moved objects there since the last one: under a steady load none does, so none runs. After
a burst of connections it frees what the burst's passes kept (in a probe run, the first
full pass after 200 driver sockets opened found 4,614 cyclic objects: uvicorn's HTTP
protocol, parser and buffers of each upgraded socket, ~23 a socket). Its pause, measured in
the server under ``bench/soak.py`` at 20,000 fixes/s offered, 200 driver sockets, ~80,000
unfrozen objects, on the shared 2-core machine (load average 6-10): 60-190 ms, once 300 ms;
that is why it does not simply run every minute (in that run ten unconditional passes, one
a minute, each found nothing).

Code on a steady path should make no cycles at all. The one that did (2.5 a second under
ingest, whatever the rate: found with ``gc.DEBUG_SAVEALL``): a statement built per call with
``column.in_(a_list)``, whose bind parameter SQLAlchemy clones into a cycle (its
``_cloned_set`` holds itself). The periodic loads (fences, zones, the fan-out's visibility)
now build theirs once with ``bindparam(..., expanding=True)``.
"""

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

# Python 3.12's defaults are (700, 10, 10)
THRESHOLDS = (50_000, 20, 100)
# Objects waiting in generation 1 after a young pass that mean a burst of long-lived ones.
SURVIVORS = 10_000
# While a burst lasts: the young generation's threshold, and the share of a young pass's
# survivors still alive at the next pass for the burst to go on. (A pass walks only live
# objects and cycles, so its own survival rate says nothing: whether its survivors stay
# alive does. Objects in flight die by reference counting before the next pass comes.)
BURST_YOUNG = 10_000
BURST_SHARE = 0.75
# Generation-1 passes a burst lasts at most (each over ~2 x BURST_YOUNG objects: ~7,000
# sockets' worth): objects alive at a pass may be in flight rather than long-lived, and
# this bounds what such a misreading costs; a longer burst is noticed again.
BURST_PASSES = 40


def _in_generation(generation: int) -> int:
    return len(gc.get_objects(generation))  # ~1 ms per 50,000 objects


class SurvivorWatch:
    """A ``gc.callbacks`` entry. After a young collection, if ``limit`` objects or more
    wait in generation 1, a burst has begun: the young threshold drops to ``burst_young``
    and generation 1's to 0, so collections come in small passes, every second one
    including generation 1. The burst goes on while at least ``share`` of what each young
    pass left in generation 1 is still alive when the generation-1 pass after it starts,
    for at most ``max_passes`` generation-1 passes; then the steady thresholds return.
    Generation 2's threshold (counted in generation-1 passes) is raised by the number of
    passes bursts added, so full collections (a walk over every object the server holds,
    ~1 s with thousands of sockets) do not come sooner.

    ``counted`` (objects in a generation) and ``set_threshold`` are parameters for the
    tests."""

    def __init__(
        self,
        limit: int = SURVIVORS,
        thresholds: tuple[int, int, int] = THRESHOLDS,
        *,
        burst_young: int = BURST_YOUNG,
        share: float = BURST_SHARE,
        max_passes: int = BURST_PASSES,
        counted: Callable[[int], int] = _in_generation,
        set_threshold: Callable[..., None] = gc.set_threshold,
    ) -> None:
        self.limit = limit
        self.thresholds = thresholds
        self.burst_young = burst_young
        self.share = share
        self.max_passes = max_passes
        self._counted = counted
        self._set_threshold = set_threshold
        self.bursting = False
        self._left = 0  # what the last young pass left in generation 1
        self._alive = 0  # of those, still there when the generation-1 pass started
        self._passes = 0  # generation-1 passes of the burst under way
        self._extra = 0  # generation-1 passes bursts added since the last full one
        self.bursts = 0  # how many began (for tests and curiosity)
        self.burst_passes = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        generation = info["generation"]
        if phase == "start":
            if self.bursting and generation == 1:
                self._alive = self._counted(1)
            return
        if phase != "stop":
            return
        young, middle, old = self.thresholds
        if generation == 2:
            self._extra = 0
            self.bursting = False
            self._set_threshold(young, middle, old)
            return
        if generation == 1:
            if not self.bursting:
                return
            self._extra += 1
            self._passes += 1
            self.burst_passes += 1
            if self._alive < self.share * self._left or self._passes >= self.max_passes:
                self.bursting = False
                self._set_threshold(young, middle, old + self._extra)
            else:
                self._set_threshold(self.burst_young, 0, old + self._extra)
            return
        waiting = self._counted(1)
        if self.bursting:
            self._left = waiting
        elif waiting >= self.limit:
            self._left = waiting
            self.bursting = True
            self._passes = 0
            self.bursts += 1
            self._set_threshold(self.burst_young, 0, old + self._extra)


def _promoted_since_full() -> bool:
    # gc.get_count()[2]: generation-1 passes since the last full one; each moves what
    # it finds alive (cycles that died since included) into generation 2.
    return gc.get_count()[2] > 0


class FullCollections:
    """Every ``every_s`` seconds, a full (generation 2) collection if a generation-1 pass
    has moved objects into generation 2 since the last one, run between the event loop's
    callbacks. ``pauses`` counts them, ``found`` sums the unreachable objects they freed,
    and ``last_pause_s``/``max_pause_s`` say how long the loop stood still for them.

    ``pending``, ``collect``, ``clock`` and ``sleep`` are parameters for the tests."""

    def __init__(
        self,
        every_s: float,
        *,
        pending: Callable[[], bool] = _promoted_since_full,
        collect: Callable[[int], int] = gc.collect,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.every_s = every_s
        self._pending = pending
        self._collect = collect
        self._clock = clock
        self._sleep = sleep
        self.pauses = 0
        self.found = 0
        self.last_pause_s = 0.0
        self.max_pause_s = 0.0

    def collect_now(self) -> None:
        started = self._clock()
        self.found += self._collect(2)
        self.last_pause_s = self._clock() - started
        self.max_pause_s = max(self.max_pause_s, self.last_pause_s)
        self.pauses += 1
        log.debug("full collection: %.1f ms", self.last_pause_s * 1000)

    async def run(self) -> None:
        while True:
            await self._sleep(self.every_s)
            if self._pending():
                self.collect_now()


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


def collect_fully_every(every_s: float) -> asyncio.Task[None] | None:
    """Start :class:`FullCollections` on the running loop (``None`` when ``every_s`` is 0);
    cancel the task at shutdown."""
    if every_s <= 0:
        return None
    return asyncio.create_task(FullCollections(every_s).run(), name="full-collections")
