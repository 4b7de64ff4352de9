"""Token buckets per key, in memory (pure; no I/O).

Each failure takes one of ``burst`` allowances, which come back at ``per_minute``; a key with
none left waits until one is back. At most ``max_keys`` keys are remembered (the longest
untouched forgotten first), so a flood of addresses cannot grow the process without bound.
"""

import time
from collections.abc import Callable


class TokenBuckets:
    """Allowances per key, refilled continuously."""

    def __init__(
        self,
        per_minute: float = 20.0,
        burst: float = 20.0,
        *,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a guess limit needs a refill rate above 0 and a burst of 1 or more")
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_clients = max_clients
        self._clock = clock
        self._clients: dict[str, tuple[float, float]] = {}  # key -> (allowance, at)

    def _allowance(self, client: str, now: float) -> float:
        found = self._clients.get(client)
        if found is None:
            return self.burst
        allowance, at = found
        return min(self.burst, allowance + (now - at) * self.rate)

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 if it may now."""
        allowance = self._allowance(client, self._clock())
        return 0.0 if allowance >= 1 else (1 - allowance) / self.rate

    def miss(self, client: str) -> None:
        """``client`` failed once."""
        now = self._clock()
        allowance = self._allowance(client, now) - 1
        self._clients.pop(client, None)  # re-inserted last: dicts keep insertion order
        self._clients[client] = (allowance, now)
        if len(self._clients) > self.max_clients:
            del self._clients[next(iter(self._clients))]

    def __len__(self) -> int:
        return len(self._clients)
