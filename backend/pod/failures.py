"""Failed deliveries: why, and what happens next (pure; no I/O).

Each reason has a follow-up, configurable per deployment (``LASTMILE_FAILURE_FOLLOW_UPS``,
a JSON object reason -> follow-up); the defaults are what most couriers do:

* ``reattempt_today`` — the order goes back into the same driver's route today, where the
  live-insertion optimiser finds it cheapest no sooner than ``LASTMILE_REATTEMPT_AFTER_MIN``
  (at the end of the route if it fits nowhere);
* ``next_day`` — the order is rescheduled (off the route; dispatch plans it for another day);
* ``return_to_depot`` — the order stays failed and the parcel goes back (dispatch marks it
  returned when it is in);
* ``safe_place`` — the parcel was left somewhere safe, with a photo: the order is delivered,
  the reason and the photo on the delivery event.

The customer notice for each follow-up is named here (a template key); sending it is the
notification worker's job.
"""

from collections.abc import Mapping
from enum import StrEnum


class FailureReason(StrEnum):
    NOT_HOME = "not_home"
    WRONG_ADDRESS = "wrong_address"
    ACCESS_PROBLEM = "access_problem"
    REFUSED = "refused"
    DAMAGED = "damaged"
    UNSAFE = "unsafe"
    BUSINESS_CLOSED = "business_closed"
    OTHER = "other"


class FollowUp(StrEnum):
    REATTEMPT_TODAY = "reattempt_today"
    NEXT_DAY = "next_day"
    SAFE_PLACE = "safe_place"
    RETURN_TO_DEPOT = "return_to_depot"


DEFAULT_FOLLOW_UPS: Mapping[FailureReason, FollowUp] = {
    FailureReason.NOT_HOME: FollowUp.REATTEMPT_TODAY,
    FailureReason.WRONG_ADDRESS: FollowUp.NEXT_DAY,
    FailureReason.ACCESS_PROBLEM: FollowUp.REATTEMPT_TODAY,
    FailureReason.REFUSED: FollowUp.RETURN_TO_DEPOT,
    FailureReason.DAMAGED: FollowUp.RETURN_TO_DEPOT,
    FailureReason.UNSAFE: FollowUp.NEXT_DAY,
    FailureReason.BUSINESS_CLOSED: FollowUp.NEXT_DAY,
    FailureReason.OTHER: FollowUp.NEXT_DAY,
}

NOTICES: Mapping[FollowUp, str] = {
    FollowUp.REATTEMPT_TODAY: "failed_reattempt_today",
    FollowUp.NEXT_DAY: "failed_rescheduled",
    FollowUp.SAFE_PLACE: "delivered_safe_place",
    FollowUp.RETURN_TO_DEPOT: "failed_returning",
}


class FailureInputError(ValueError):
    """The failure report cannot be accepted; the message says why."""


def follow_up_for(
    reason: str, overrides: Mapping[str, str] | None = None
) -> tuple[FailureReason, FollowUp]:
    """The reason as an enum and its follow-up (``overrides`` first, then the defaults)."""
    try:
        known = FailureReason(reason)
    except ValueError:
        names = ", ".join(r.value for r in FailureReason)
        raise FailureInputError(f"reason: unknown {reason!r}; one of {names}") from None
    configured = (overrides or {}).get(known.value)
    return known, FollowUp(configured) if configured else DEFAULT_FOLLOW_UPS[known]


def check_report(reason: FailureReason, follow_up: FollowUp, note: str, photos: int) -> None:
    """What a report needs: a note for ``other``; a photo when left at a safe place."""
    if reason is FailureReason.OTHER and not note.strip():
        raise FailureInputError("note: say what happened when the reason is 'other'")
    if follow_up is FollowUp.SAFE_PLACE and photos == 0:
        raise FailureInputError("photos: a parcel left at a safe place needs a photo of it")
