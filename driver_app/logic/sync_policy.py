"""How the offline queue treats each answer, how long it waits, and what it tells the driver.

Pure: the exceptions are those of :mod:`shared.api_client` and httpx, nothing is sent here.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

from app_kit.labels import status_label
from driver_app.logic.actions import Action, TransitionAction, order_label, what_was_done
from shared.api_client import ApiError, AuthError
from shared.enums import OrderStatus


class Verdict(StrEnum):
    RETRY = "retry"  # nobody answered, or the server could not: send the same again later
    REFRESH = "refresh"  # 401: refresh the session, then send the same again
    CONFLICT = "conflict"  # 409: the order changed meanwhile; tell the driver, move on
    FAILED = "failed"  # another 4xx: it will never be accepted; tell the driver, move on


def verdict(exc: Exception) -> Verdict:
    """What a failed send means for the queue."""
    if isinstance(exc, AuthError):
        return Verdict.REFRESH
    if isinstance(exc, ApiError):
        if exc.status >= 500 or exc.status in (408, 425, 429):
            return Verdict.RETRY
        return Verdict.CONFLICT if exc.status == 409 else Verdict.FAILED
    if isinstance(exc, httpx.TransportError):
        return Verdict.RETRY
    return Verdict.FAILED  # a bug of ours (an answer we cannot read): retrying cannot help


@dataclass(frozen=True, slots=True)
class Backoff:
    """Pauses after failed sends: ``first_s`` doubling up to ``max_s``, with jitter (seconds).

    The jitter keeps phones that lost the network together from all coming back at once;
    the cap keeps a driver whose network returns from waiting more than a minute.
    """

    first_s: float = 1.0
    max_s: float = 60.0
    factor: float = 2.0

    def delay_s(self, failures: int, jitter: float) -> float:
        """The pause after the ``failures``-th failure in a row; ``jitter`` in [0, 1]
        picks between half of it and all of it."""
        if failures < 1:
            return 0.0
        exponent = min(failures - 1, 64)  # no float overflow after a day offline
        ceiling = min(self.max_s, self.first_s * self.factor**exponent)
        return ceiling * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))


def already_done(action: Action, exc: Exception) -> bool:
    """A status change refused because the order is already in that state (the geofence
    saw the driver arrive before the "Arrived" tap got through): what the driver wanted is
    true, so there is nothing to tell them."""
    if not (isinstance(action, TransitionAction) and isinstance(exc, ApiError)):
        return False
    details = exc.details if isinstance(exc.details, dict) else {}
    return exc.code == "illegal_transition" and details.get("current") == action.to


def refusal_message(action: Action, order_ref: str | None, error: ApiError) -> str:
    """A refused action in plain words: which order, what happened, what was not recorded.

    A refusal is final even after an earlier send whose answer was lost: the server answers
    a replay of a write it made with that write's first answer, even when the order was
    taken away since, so a 409 means the write was not made."""
    order = order_label(action.order_id, order_ref)
    done = what_was_done(action)
    details: dict[str, Any] = error.details if isinstance(error.details, dict) else {}
    if error.code == "no_longer_yours":
        what = _taken_away(details.get("status"), error.message)
        return f"{order} {what}; {done} was not recorded."
    if error.code == "already_delivered":
        return f"{order} was already delivered; {done} was not recorded."
    if error.code == "illegal_transition" and details.get("current") in OrderStatus:
        current = status_label(OrderStatus(details["current"])).lower()
        return f"{order} is already {current}; {done} was not recorded."
    if error.status == 404:
        return f"{order} is no longer on your list; {done} was not recorded."
    return f"{order}: {done} was not recorded. The server said: {error.message}"


def _taken_away(status: object, message: str) -> str:
    """What happened to an order that is no longer the driver's."""
    if status == OrderStatus.CANCELLED:
        return "was cancelled"
    if "with another driver" in message:
        return "was reassigned to another driver"
    if status == OrderStatus.RESCHEDULED:
        return "was rescheduled for another day"
    return "was taken off your list"
