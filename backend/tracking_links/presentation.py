"""How the tracking page presents an order (pure; no I/O): the ETA range and the brand's
readable text colour."""

import re
from datetime import datetime, timedelta

DEFAULT_COLOUR = "#1f5fbf"
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")

# The range after the ETA widens with the time still to go: 20 % of it, 5 to 45 minutes.
RANGE_SHARE = 0.2
RANGE_MIN = timedelta(minutes=5)
RANGE_MAX = timedelta(minutes=45)


def eta_window(eta: datetime, now: datetime) -> tuple[datetime, datetime]:
    """ "Arriving 14:32-14:40": from the ETA (down to its minute) to a later time (up to a
    whole minute) that leaves room for what the remaining drive can bring."""
    to_go = max(timedelta(0), eta - now)
    width = min(RANGE_MAX, max(RANGE_MIN, to_go * RANGE_SHARE))
    start = eta.replace(second=0, microsecond=0)
    end = eta + width
    if end.second or end.microsecond:
        end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return start, end


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour_for(background: str) -> str:
    """Black or white, whichever reads better on ``background``."""
    black, white = contrast(background, "#000000"), contrast(background, "#ffffff")
    return "#000000" if black > white else "#ffffff"
