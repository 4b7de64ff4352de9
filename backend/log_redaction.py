"""Keep credentials out of the logs.

Tracking tokens travel in paths (``/t/{token}``, ``/api/v1/track/{token}...``), access
tokens and GPS-device secrets in a ``?token=`` or ``?key=`` query (sockets, Overland,
OsmAnd), and uvicorn's access and socket logs print the path with its query: a log reader
would hold every customer's link and every signed-in socket. ``install()`` puts a filter on
uvicorn's loggers that masks them (the line keeps its shape, so log tooling still parses
it); ``redact()`` serves any other text, e.g. an SMS written to the log.
"""

import logging
import re

MASK = "***"
# Each pattern keeps group 1 (what names the secret) and masks what follows it.
_PATTERNS = (
    # A tracking link's token: /t/TOKEN, /track/TOKEN (and what follows it: /ws, /slots...)
    re.compile(r"(/t/|/track/)[^/?#\s\"']+"),
    # Credentials in a query string or a form body.
    re.compile(r"([?&](?:token|access_token|refresh_token|password|secret|key)=)[^&#\s\"']+"),
    re.compile(r"(Bearer )[^\s\"']+"),
)
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(rf"\g<1>{MASK}", text)
    return text


class RedactSecrets(logging.Filter):
    """Masks credentials in a record's message and its string arguments (uvicorn's access
    formatter unpacks the arguments by position, so they stay a tuple of the same length)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Filter uvicorn's loggers (once per process, however many apps are built)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
