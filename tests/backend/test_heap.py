"""The collector policy: a burst of long-lived objects is collected in small passes, and
cycles are freed by a full pass at a fixed interval."""

import asyncio
import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from backend.heap import FullCollections, SurvivorWatch, collect_fully_every


class FakeHeap:
    """Objects per generation as the collector would leave them, and the thresholds set."""

    def __init__(self) -> None:
        self.objects = [0, 0]  # generations 0 and 1
        self.thresholds: list[tuple[int, ...]] = []

    def set_threshold(self, *values: int) -> None:
        self.thresholds.append(values)


def watch_on(heap: FakeHeap, limit: int = 100) -> SurvivorWatch:
    return SurvivorWatch(
        limit,
        (500, 20, 100),
        burst_young=50,
        counted=lambda generation: heap.objects[generation],
        set_threshold=heap.set_threshold,
    )


def collected(
    watch: SurvivorWatch, generation: int, heap: FakeHeap, survived: int = 0, died: int = 0
) -> None:
    """A pass; ``died``: of the objects waiting in generation 1, how many were freed (by
    reference counting) before it; ``survived``: young objects that outlive it."""
    heap.objects[1] -= died
    watch("start", {"generation": generation})
    if generation == 0:
        heap.objects[1] += survived  # the young survivors wait in generation 1
    else:
        heap.objects[1] = 0  # they went on to generation 2
    watch("stop", {"generation": generation, "collected": 0, "uncollectable": 0})


def test_a_steady_heap_keeps_the_thresholds() -> None:
    heap = FakeHeap()
    watch = watch_on(heap)
    for _ in range(19):
        collected(watch, 0, heap, survived=5)  # a few objects outlive each young pass
    collected(watch, 1, heap)  # the collector's own generation-1 pass, the 20th
    assert heap.thresholds == []
    assert watch.bursts == 0


def test_a_burst_is_collected_in_small_passes_while_what_survives_stays_alive() -> None:
    heap = FakeHeap()
    watch = watch_on(heap)
    collected(watch, 0, heap, survived=60)
    assert heap.thresholds == []  # 60 waiting: no burst yet
    collected(watch, 0, heap, survived=400)  # 460 waiting: a burst
    assert heap.thresholds == [(50, 0, 100)]
    assert watch.bursting
    # Small passes; every generation-1 one raises generation 2's threshold by one.
    collected(watch, 1, heap, died=10)  # 450 of 460 still alive: go on
    assert heap.thresholds[-1] == (50, 0, 101)
    collected(watch, 0, heap, survived=50)
    collected(watch, 1, heap, died=5)  # 45 of 50
    assert heap.thresholds[-1] == (50, 0, 102)
    assert watch.bursting
    collected(watch, 0, heap, survived=50)
    collected(watch, 1, heap, died=30)  # 20 of 50: they were in flight; the burst is over
    assert heap.thresholds[-1] == (500, 20, 103)
    assert not watch.bursting
    collected(watch, 0, heap, survived=5)
    assert len(heap.thresholds) == 4  # steady again
    collected(watch, 2, heap)  # a full pass: the count of added passes starts again
    assert heap.thresholds[-1] == (500, 20, 100)
    assert (watch.bursts, watch.burst_passes) == (1, 3)


def test_objects_in_flight_at_a_pass_end_the_burst_at_the_next_one() -> None:
    heap = FakeHeap()
    watch = watch_on(heap)
    collected(watch, 0, heap, survived=300)  # a big request's objects, alive at the pass
    assert watch.bursting
    collected(watch, 1, heap, died=290)  # gone by the next one
    assert not watch.bursting
    assert heap.thresholds == [(50, 0, 100), (500, 20, 101)]


def test_a_burst_ends_after_its_last_pass_even_if_everything_survives() -> None:
    heap = FakeHeap()
    watch = watch_on(heap)
    watch.max_passes = 3
    collected(watch, 0, heap, survived=200)
    for _ in range(2):
        collected(watch, 1, heap)
        collected(watch, 0, heap, survived=50)
    assert watch.bursting
    collected(watch, 1, heap)
    assert not watch.bursting
    assert heap.thresholds[-1] == (500, 20, 103)


def test_a_full_pass_in_a_burst_ends_it() -> None:
    heap = FakeHeap()
    watch = watch_on(heap)
    collected(watch, 0, heap, survived=200)
    assert watch.bursting
    collected(watch, 2, heap)
    assert not watch.bursting
    assert heap.thresholds[-1] == (500, 20, 100)


@pytest.fixture
def real_collector() -> Iterator[None]:
    thresholds, callbacks = gc.get_threshold(), list(gc.callbacks)
    enabled = gc.isenabled()
    # A server started in this process earlier installed its own watch: not in these runs.
    gc.callbacks[:] = []
    gc.enable()
    gc.collect()
    try:
        yield
    finally:
        gc.callbacks[:] = callbacks
        gc.set_threshold(*thresholds)
        if not enabled:
            gc.disable()


class PassSizes:
    """Records how many objects each automatic pass walks (young, plus generation 1 for a
    generation-1 pass): the length of the pause, in objects."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] < 2:
            generations = range(info["generation"] + 1)
            self.sizes.append(sum(len(gc.get_objects(g)) for g in generations))


def largest_pass(burst: int, watch: SurvivorWatch | None) -> int:
    gc.set_threshold(20_000, 10, 100)
    sizes = PassSizes()
    gc.callbacks.append(sizes)  # first: it sees each pass before the watch changes anything
    if watch is not None:
        gc.callbacks.append(watch)
    kept: list[Any] = [[i] for i in range(burst)]  # long-lived: alive to the end
    gc.callbacks.remove(sizes)
    if watch is not None:
        gc.callbacks.remove(watch)
    del kept
    return max(sizes.sizes)


@pytest.mark.usefixtures("real_collector")
def test_with_the_real_collector_a_burst_is_collected_in_smaller_passes() -> None:
    # 300,000 long-lived lists. With the thresholds alone, every 10th young pass walks
    # the survivors of the 9 before it: ~200,000 objects at once. With the watch, the
    # young passes after the first are 2,000 objects, and generation-1 ones twice that.
    plain = largest_pass(300_000, None)
    watch = SurvivorWatch(10_000, (20_000, 10, 100), burst_young=2_000)
    watched = largest_pass(300_000, watch)
    assert plain >= 200_000
    assert watch.bursts >= 1
    assert watch.burst_passes >= 20
    assert watched <= 45_000  # the first young pass (20,000) and the one after it


@pytest.mark.usefixtures("real_collector")
def test_with_the_real_collector_short_lived_garbage_starts_no_burst() -> None:
    gc.set_threshold(20_000, 20, 100)
    watch = SurvivorWatch(10_000, (20_000, 20, 100), burst_young=2_000)
    gc.callbacks.append(watch)
    try:
        for _ in range(50):
            batch = [[i] for i in range(5_000)]  # made, used, dropped: a request's objects
            del batch
    finally:
        gc.callbacks.remove(watch)
    assert watch.bursts == 0


async def test_a_full_pass_comes_at_the_interval_only_when_something_was_promoted() -> None:
    generations: list[int] = []
    waits: list[float] = []
    promoted = iter([True, False, True])  # a generation-1 pass before the 1st and 3rd check
    clock = iter([100.0, 100.03, 220.0, 220.02])

    async def sleep(seconds: float) -> None:
        if len(waits) == 3:
            raise asyncio.CancelledError  # the server stops
        waits.append(seconds)

    def collect(generation: int) -> int:
        generations.append(generation)
        return 7

    full = FullCollections(
        60.0,
        pending=lambda: next(promoted),
        collect=collect,
        clock=lambda: next(clock),
        sleep=sleep,
    )
    with pytest.raises(asyncio.CancelledError):
        await full.run()
    assert waits == [60.0, 60.0, 60.0]
    assert generations == [2, 2]
    assert (full.pauses, full.found) == (2, 14)
    assert full.last_pause_s == pytest.approx(0.02)
    assert full.max_pause_s == pytest.approx(0.03)


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


async def collected_within(gone: weakref.ref[Node], every_s: float, wait_s: float) -> bool:
    task = collect_fully_every(every_s)
    assert task is not None
    try:
        for _ in range(int(wait_s / 0.01)):
            await asyncio.sleep(0.01)
            if gone() is None:
                return True
    finally:
        task.cancel()
    return False


@pytest.mark.usefixtures("real_collector")
async def test_with_the_real_collector_a_cycle_promoted_to_generation_2_is_freed() -> None:
    # Automatic passes off, as under a steady load with the server's thresholds. A pass
    # that ran while the cycle was still in use moved it to generation 2; once dropped,
    # only a full pass can free it.
    gc.disable()
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    gc.collect(1)  # a socket's objects outlive a pass during a burst of connections
    del a, b  # then the socket upgrades and its HTTP state becomes garbage
    gc.collect(1)
    assert gone() is not None  # neither reference counting nor younger passes free it
    assert await collected_within(gone, 0.02, 1.0)


@pytest.mark.usefixtures("real_collector")
async def test_with_the_real_collector_no_full_pass_without_promotions() -> None:
    gc.disable()
    gc.collect()  # nothing promoted since
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b  # young garbage: the next young pass's business, not a full pass's
    assert not await collected_within(gone, 0.02, 0.2)
    gc.collect(0)
    assert gone() is None


def test_no_periodic_pass_when_the_interval_is_zero() -> None:
    assert collect_fully_every(0) is None
