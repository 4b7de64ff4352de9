"""Keep Python's cyclic garbage collector from pausing the server for a quarter second.

Measured under ``bench/ingest.py`` (15,000 fixes/s): full (generation 2) collections took
190-270 ms each, every few seconds, and found almost nothing: they walked every object the
server built at start (modules, the app, SQLAlchemy and pydantic internals, the road network)
on every pass. Those pauses, not the work per fix, set the p99 fix-to-dispatcher latency.
``gc.freeze()`` after start moves those objects out of the collector's sight for good (they
live as long as the process anyway); cycles made later are still collected.
"""

import gc

# Python's defaults are (2000, 10, 10)
THRESHOLDS = (50_000, 20, 100)


def settle_heap() -> None:
    """Collect once, then freeze everything alive now; call when start-up is done."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
