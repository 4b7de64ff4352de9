"""Which customer notice an order event calls for (pure; no I/O).

The triggers an organisation can switch on and off, and the template each one sends:

* ``scheduled``: the order is on a published route (assigned to a driver whose route is
  published, or its route published with it on); the message carries the tracking link.
* ``out_for_delivery``: the driver set off towards it (``en_route``).
* ``arriving``: its ETA came within the organisation's ``arriving_minutes`` (once per
  order; from the live ETAs, not from an event).
* ``delivered``, ``rescheduled``: the status changes of those names.
* ``failed``: a failed attempt with its next step (the failure report queues it, with the
  reason and the follow-up: see ``backend.pod.failure_service``).

A status change the failure report itself made (the follow-up's move to ``rescheduled``
or back to ``assigned``, a delivery to a safe place) sends nothing more here: the failure
notice already told the customer what happens next.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from shared.enums import EventKind, OrderStatus


class Trigger(StrEnum):
    SCHEDULED = "scheduled"
    OUT_FOR_DELIVERY = "out_for_delivery"
    ARRIVING = "arriving"
    DELIVERED = "delivered"
    FAILED = "failed"
    RESCHEDULED = "rescheduled"


ALL_TRIGGERS: frozenset[Trigger] = frozenset(Trigger)

# The template a trigger sends (``failed`` has one per follow-up, chosen by the report).
TEMPLATE: Mapping[Trigger, str] = {
    Trigger.SCHEDULED: "scheduled",
    Trigger.OUT_FOR_DELIVERY: "out_for_delivery",
    Trigger.ARRIVING: "arriving",
    Trigger.DELIVERED: "delivered",
    Trigger.RESCHEDULED: "rescheduled",
}


def trigger_of(template: str) -> Trigger:
    """The trigger a notice belongs to (every failure follow-up's notice: ``failed``)."""
    for trigger, key in TEMPLATE.items():
        if key == template:
            return trigger
    return Trigger.FAILED


_BY_STATUS: Mapping[OrderStatus, Trigger] = {
    OrderStatus.ASSIGNED: Trigger.SCHEDULED,
    OrderStatus.EN_ROUTE: Trigger.OUT_FOR_DELIVERY,
    OrderStatus.DELIVERED: Trigger.DELIVERED,
    OrderStatus.RESCHEDULED: Trigger.RESCHEDULED,
}

# Details a failure report puts on the events it causes (see backend.pod.failure_service).
_FAILURE_DETAILS = frozenset({"failure", "follow_up"})


def trigger_for(
    kind: EventKind, to_status: OrderStatus | None, details: Mapping[str, Any]
) -> Trigger | None:
    """The trigger an order event fires, if any. ``scheduled`` still needs the order's
    route to be published (the caller checks; see :mod:`backend.notifications.hook`)."""
    if kind is not EventKind.STATUS_CHANGED or to_status is None:
        return None
    if _FAILURE_DETAILS & details.keys():
        return None
    return _BY_STATUS.get(to_status)


def dedupe_key(order_id: int, trigger: Trigger, occasion: str = "") -> str:
    """What a trigger's notice is about: the same key is never queued twice. ``occasion``
    tells apart the times a trigger may rightly fire again for an order (the service date
    of ``scheduled``, the event of ``delivered``...)."""
    return f"order:{order_id}:{trigger.value}" + (f":{occasion}" if occasion else "")


def arriving_due(eta_s: float, now_s: float, minutes: int) -> bool:
    """Whether an ETA (epoch seconds) is within ``minutes`` of now and not already past."""
    return 0.0 <= eta_s - now_s <= minutes * 60.0
