"""Pauses between attempts to reach the broker again: doubling, capped, with jitter.

Pure. Every subscription of every worker retries on its own when Redis goes away; the
jitter spreads their attempts, the cap bounds how long a subscription stays deaf after Redis
is back (seconds).
"""

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """``first_s`` after the first failure in a row, doubling up to ``max_s`` (seconds)."""

    first_s: float = 0.1
    max_s: float = 4.0

    def delay_s(self, failures: int, jitter: float | None = None) -> float:
        """The pause after the ``failures``-th failure in a row; ``jitter`` in [0, 1] (None:
        random) picks between half of it and all of it."""
        if failures < 1:
            return 0.0
        ceiling = min(self.max_s, self.first_s * 2.0 ** min(failures - 1, 32))
        spread = random.random() if jitter is None else min(max(jitter, 0.0), 1.0)
        return ceiling * (0.5 + 0.5 * spread)


# Between attempts to subscribe again to a broker channel (the sockets' hub, the fan-out).
RESUBSCRIBE = Backoff(first_s=0.1, max_s=4.0)
