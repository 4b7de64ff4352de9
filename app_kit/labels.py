"""Wire values as words for people."""

from enum import StrEnum


def status_label(status: StrEnum) -> str:
    """``en_route_to_pickup`` → ``En route to pickup``."""
    return status.value.replace("_", " ").capitalize()
