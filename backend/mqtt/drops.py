"""Messages the subscriber drops, by reason, and a log that speaks once per device a minute.

Each drop is counted in the location pipeline's counters as ``mqtt_dropped_<reason>``
(``lastmile_mqtt_dropped{reason=...}`` on ``/metrics``). Pure: the clock is passed in.
"""

from collections import OrderedDict
from enum import StrEnum


class DropReason(StrEnum):
    UNKNOWN_TOPIC = "unknown_topic"  # neither topic scheme (a too-wide ACL, a typo)
    UNKNOWN_DEVICE = "unknown_device"  # no registered device has that identifier
    ORG_MISMATCH = "org_mismatch"  # the topic's organisation is not the device's
    MALFORMED = "malformed"  # the payload cannot be read


COUNTER_PREFIX = "mqtt_dropped_"


def counter(reason: DropReason) -> str:
    return f"{COUNTER_PREFIX}{reason.value}"


class DropLog:
    """Says whether a drop should be logged: the first per (device, reason) in each
    ``every_s`` window. Remembers at most ``size`` keys (the oldest are forgotten)."""

    def __init__(self, every_s: float = 60.0, size: int = 10_000) -> None:
        self._every_s = every_s
        self._size = size
        self._last: OrderedDict[tuple[str, DropReason], float] = OrderedDict()

    def should_log(self, device: str, reason: DropReason, now: float) -> bool:
        key = (device, reason)
        last = self._last.get(key)
        if last is not None and now - last < self._every_s:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self._size:
            self._last.popitem(last=False)
        return True
