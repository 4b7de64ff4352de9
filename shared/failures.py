"""Failed deliveries: the reasons a driver gives and the follow-up each one gets (pure).

The backend carries the follow-up out (``backend.pod.failures``, where a deployment may
override the defaults); the driver app offers the reasons and tells the driver what will
happen before they confirm. The defaults are what most couriers do:

* ``reattempt_today``: the order goes back into the same driver's route today;
* ``next_day``: the order is rescheduled (dispatch plans it for another day);
* ``return_to_depot``: the order stays failed and the parcel goes back;
* ``safe_place``: the parcel was left somewhere safe, with a photo: the order is delivered.
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


def needs_note(reason: FailureReason) -> bool:
    """Whether a report for ``reason`` must say what happened (``other`` says nothing)."""
    return reason is FailureReason.OTHER


def needs_photo(follow_up: FollowUp) -> bool:
    """Whether a report with ``follow_up`` must carry a photo (where the parcel was left)."""
    return follow_up is FollowUp.SAFE_PLACE
