"""Id lists for ``IN (...)`` queries that run all the time, padded to a few lengths (pure).

An expanding bind parameter (``col.in_(bindparam("ids", expanding=True))``) is rendered
with one placeholder per id, so every list length is a different SQL text: a different
prepared statement in each pooled connection's statement cache (SQLite's driver keeps 128
a connection). A loader that runs every few seconds for whichever drivers changed asks
with every length from 1 to hundreds, and the caches fill with near copies of one query
over many minutes: measured as a steady part of the server's memory growth under ingest
(bench/README, "soak.py"). Padded to the next power of two (repeating the last id, which
``IN`` ignores), a query has at most a dozen texts.
"""

from collections.abc import Sequence


def padded(ids: Sequence[int]) -> list[int]:
    """``ids`` with its last id repeated up to the next power of two (empty stays empty)."""
    count = len(ids)
    if count == 0:
        return []
    size = 1 << (count - 1).bit_length()
    return [*ids, *([ids[-1]] * (size - count))]
