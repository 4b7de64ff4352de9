"""What the strip above the stops says about the offline queue and the GPS (pure)."""

from datetime import datetime, tzinfo

from driver_app.state.gps import GpsState


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def queue_summary(pending: int, fixes: int) -> str | None:
    """``2 actions waiting to send · 14 positions``; None when nothing waits."""
    parts = []
    if pending:
        parts.append(f"{_plural(pending, 'action', 'actions')} waiting to send")
    if fixes:
        parts.append(_plural(fixes, "position", "positions"))
    return " · ".join(parts) or None


def offline_notice(online: bool | None, retry_at: datetime | None, tz: tzinfo) -> str | None:
    """Said while the server cannot be reached; None while it can (or before the first try)."""
    if online is not False:
        return None
    text = "No connection: your work is saved on this phone and sent when the network is back."
    if retry_at is not None:
        text += f" Trying again at {retry_at.astimezone(tz):%H:%M:%S}."
    return text


def gps_summary(state: GpsState | None, message: str | None) -> str:
    """The GPS in a few words (``message``, the streamer's own words, when it has no fix)."""
    match state:
        case None:
            return "No GPS here: dispatch cannot see where you are."
        case GpsState.ON:
            return "Sharing your position with dispatch."
        case GpsState.STARTING:
            return "Starting GPS\N{HORIZONTAL ELLIPSIS}"
        case GpsState.OFF:
            return "Position not shared: you are off shift."
        case _:
            return message or "No GPS position."
