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

The reasons, the follow-ups and the defaults live in :mod:`shared.failures` (the driver app
offers the same reasons and tells the driver the follow-up). The customer notice for each
follow-up is named here (a template key); sending it is the notification worker's job.
"""

from collections.abc import Mapping

from shared.failures import DEFAULT_FOLLOW_UPS, FailureReason, FollowUp, needs_note, needs_photo

__all__ = [
    "DEFAULT_FOLLOW_UPS",
    "NOTICES",
    "FailureInputError",
    "FailureReason",
    "FollowUp",
    "check_report",
    "follow_up_for",
]

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
    if needs_note(reason) and not note.strip():
        raise FailureInputError("note: say what happened when the reason is 'other'")
    if needs_photo(follow_up) and photos == 0:
        raise FailureInputError("photos: a parcel left at a safe place needs a photo of it")
