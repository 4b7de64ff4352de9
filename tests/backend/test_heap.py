"""The collector policy: a burst of long-lived objects is collected in small passes."""

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from backend.heap import SurvivorWatch


class FakeHeap:
    def __init__(self) -> None:
        self.waiting = 0  # objects in generation 1
        self.thresholds: list[tuple[int, ...]] = []

    def set_threshold(self, *values: int) -> None:
        self.thresholds.append(values)


def watch_on(heap: FakeHeap, limit: int = 100) -> SurvivorWatch:
    return SurvivorWatch(
        limit, (500, 20, 100), survivors=lambda: heap.waiting, set_threshold=heap.set_threshold
    )


def collected(watch: SurvivorWatch, generation: int, heap: FakeHeap, survived: int = 0) -> None:
    watch("start", {"generation": generation})
    # What a pass leaves in generation 1: the young survivors, or nothing after a pass
    # that included generation 1 (its survivors went on to generation 2).
    heap.waiting = heap.waiting + survived if generation == 0 else 0
    watch("stop", {"generation": generation, "collected": 0, "uncollectable": 0})


def test_a_steady_heap_keeps_the_thresholds() -> None:
    heap = FakeHeap()
    watch = watch_on(heap)
    for _ in range(19):
        collected(watch, 0, heap, survived=5)  # a few objects outlive each young pass
    collected(watch, 1, heap)  # the collector's own generation-1 pass, the 20th
    assert heap.thresholds == []
    assert watch.forced == 0


def test_survivors_make_the_next_collection_include_generation_1_without_hastening_a_full_one() -> (
    None
):
    heap = FakeHeap()
    watch = watch_on(heap)
    collected(watch, 0, heap, survived=60)
    assert heap.thresholds == []
    collected(watch, 0, heap, survived=60)  # 120 waiting in generation 1
    assert heap.thresholds == [(500, 0, 101)]
    collected(watch, 0, heap, survived=60)  # still early until generation 1 is collected
    assert heap.thresholds == [(500, 0, 101)]
    collected(watch, 1, heap)
    assert heap.thresholds[-1] == (500, 20, 101)
    collected(watch, 0, heap, survived=60)
    assert len(heap.thresholds) == 2
    collected(watch, 0, heap, survived=60)
    collected(watch, 1, heap)
    assert heap.thresholds[-2:] == [(500, 0, 102), (500, 20, 102)]
    collected(watch, 2, heap)  # a full pass: the count of early passes starts again
    assert heap.thresholds[-1] == (500, 20, 100)
    assert watch.forced == 2


@pytest.fixture
def real_collector() -> Iterator[None]:
    thresholds, callbacks = gc.get_threshold(), list(gc.callbacks)
    enabled = gc.isenabled()
    gc.enable()
    gc.collect()
    try:
        yield
    finally:
        gc.callbacks[:] = callbacks
        gc.set_threshold(*thresholds)
        if not enabled:
            gc.disable()


def older_passes() -> int:
    stats = gc.get_stats()
    return int(stats[1]["collections"]) + int(stats[2]["collections"])


def generation_1_passes(burst: int, watch: SurvivorWatch | None) -> int:
    gc.set_threshold(2_000, 20, 100)
    if watch is not None:
        gc.callbacks.append(watch)
    before = older_passes()
    kept: list[Any] = [[i] for i in range(burst)]  # long-lived: alive to the end
    after = older_passes()
    if watch is not None:
        gc.callbacks.remove(watch)
    del kept
    return after - before


@pytest.mark.usefixtures("real_collector")
def test_with_the_real_collector_a_burst_is_collected_in_smaller_passes() -> None:
    # 200,000 lists: the thresholds alone make a generation-1 pass every 20 young ones
    # (~40,000 survivors each); the watch makes one when 10,000 objects wait.
    plain = generation_1_passes(200_000, None)
    watch = SurvivorWatch(10_000, (2_000, 20, 100))
    watched = generation_1_passes(200_000, watch)
    assert watch.forced >= 10
    assert watched >= 3 * max(plain, 1)


@pytest.mark.usefixtures("real_collector")
def test_with_the_real_collector_short_lived_garbage_forces_nothing() -> None:
    gc.set_threshold(2_000, 20, 100)
    watch = SurvivorWatch(10_000, (2_000, 20, 100))
    gc.callbacks.append(watch)
    try:
        for _ in range(50):
            batch = [[i] for i in range(5_000)]  # made, used, dropped: a request's objects
            del batch
    finally:
        gc.callbacks.remove(watch)
    assert watch.forced == 0
