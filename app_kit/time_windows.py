"""Time windows in the viewer's time zone, short when they fall on the viewer's today."""

from datetime import UTC, date, datetime, tzinfo

DASH = "\N{EN DASH}"


def _local(moment: datetime, tz: tzinfo) -> datetime:
    # The API sends timezone-aware UTC; a naive value can only mean UTC.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(tz)


def _day_prefix(moment: datetime, today: date) -> str:
    return "" if moment.date() == today else f"{moment:%a %d %b} "


def format_window(start: datetime | None, end: datetime | None, *, tz: tzinfo, today: date) -> str:
    """Start and end in ``tz``: times alone on ``today``, with the day otherwise."""
    if start is None and end is None:
        return "Any time"
    if start is None:
        assert end is not None
        local_end = _local(end, tz)
        return f"By {_day_prefix(local_end, today)}{local_end:%H:%M}"
    local_start = _local(start, tz)
    if end is None:
        return f"From {_day_prefix(local_start, today)}{local_start:%H:%M}"
    local_end = _local(end, tz)
    if local_start.date() == local_end.date():
        return f"{_day_prefix(local_start, today)}{local_start:%H:%M}{DASH}{local_end:%H:%M}"
    return f"{local_start:%a %d %b %H:%M} {DASH} {local_end:%a %d %b %H:%M}"
