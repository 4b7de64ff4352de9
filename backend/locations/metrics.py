"""Counters for the location pipeline (rejections by reason, accepted, written).

A tiny thread-safe registry (a count from a worker thread is safe too).
Counts are per process; several workers each report their own.
"""

import threading
from collections import Counter
from collections.abc import Mapping


class Counters:
    """Named monotonically increasing counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def inc(self, name: str, amount: int = 1) -> None:
        if amount:
            with self._lock:
                self._counts[name] += amount

    def add_all(self, amounts: Mapping[str, int]) -> None:
        """Add several counters under one lock (one call per batch, not per fix)."""
        with self._lock:
            counts = self._counts
            for name, amount in amounts.items():
                counts[name] += amount

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))
