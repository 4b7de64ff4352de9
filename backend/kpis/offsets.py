"""A time zone's UTC offsets over a span of time, pure: where they change (daylight
saving), so SQL can turn UTC times into local ones with a ``CASE`` of a few branches
(one per change) instead of one per day, and without a time zone database in SQLite."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

# Offsets change at most a few times a year; sampling every 6 hours cannot step over two
# changes (no zone changes twice within a day), and each change is then found to the second.
_STEP = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Offset:
    """From ``since`` (UTC, aware; None: the start of time) the zone is ``seconds``
    ahead of UTC, until the next offset's ``since``."""

    since: datetime | None
    seconds: int


def _offset_s(at: datetime, tz: tzinfo) -> int:
    found = at.astimezone(tz).utcoffset()
    return int(found.total_seconds()) if found is not None else 0


def _change_between(lo: datetime, hi: datetime, tz: tzinfo) -> datetime:
    """The first whole second after ``lo`` with ``hi``'s offset (the two differ)."""
    target = _offset_s(hi, tz)
    lo_s, hi_s = math.floor(lo.timestamp()), math.ceil(hi.timestamp())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _offset_s(datetime.fromtimestamp(mid, UTC), tz) == target:
            hi_s = mid
        else:
            lo_s = mid
    return datetime.fromtimestamp(hi_s, UTC)


def offsets(start: datetime, end: datetime, tz: tzinfo) -> list[Offset]:
    """The offsets of ``tz`` from ``start`` to ``end`` (UTC, aware): the first one has no
    ``since``, each following one starts at a change."""
    found = [Offset(None, _offset_s(start, tz))]
    at = start
    while at < end:
        step = min(at + _STEP, end)
        if _offset_s(step, tz) != found[-1].seconds:
            change = _change_between(at, step, tz)
            found.append(Offset(change, _offset_s(change, tz)))
        at = step
    return found
