"""The clock and time zone the apps show times in (injectable for tests)."""

from datetime import UTC, datetime, tzinfo


def utc_now() -> datetime:
    return datetime.now(UTC)


def local_timezone() -> tzinfo:
    """The time zone of the machine serving the app."""
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else UTC
