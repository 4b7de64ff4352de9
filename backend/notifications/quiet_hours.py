"""Quiet hours: when an organisation's customers get no messages (pure; no I/O).

Quiet hours are a local wall-clock range in the organisation's time zone, ``start`` to
``end``; ``22:00``-``07:00`` crosses midnight. A notice due inside them waits until they
end (the first instant at or after ``end`` local time), computed in the zone so a
daylight-saving change moves the UTC instant with it.
"""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class QuietHoursError(ValueError):
    """Quiet hours that cannot be used (the message says why)."""


def parse_hhmm(value: str) -> time:
    """``"22:30"`` as a time; anything else is refused."""
    match = _HHMM.match(value)
    if match is None:
        raise QuietHoursError(f"{value!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return time(int(match[1]), int(match[2]))


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Paris``), or a :class:`QuietHoursError`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QuietHoursError(f"{name!r} is not a known time zone (e.g. Europe/Paris)") from None


def is_quiet(local: time, start: time, end: time) -> bool:
    """Whether local wall-clock ``local`` is in ``[start, end)``; across midnight when
    ``start > end``; never when ``start == end``."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(at: datetime, start: time, end: time, tz: ZoneInfo) -> datetime | None:
    """When the quiet hours around ``at`` (UTC, aware) end, in UTC; None when ``at`` is
    not in quiet hours."""
    local = at.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    if not is_quiet(wall, start, end):
        return None
    day = local.date() if wall < end else local.date() + timedelta(days=1)
    ends = datetime.combine(day, end, tzinfo=tz)
    # A wall time skipped by a spring-forward gap resolves forward through UTC.
    ends_utc = ends.astimezone(UTC)
    return ends_utc if ends_utc > at else at
