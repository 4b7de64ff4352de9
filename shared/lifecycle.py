"""The order lifecycle as an explicit state machine.

Pure code: the backend enforces it, the apps use it to offer only legal actions.

The happy path is ``created → assigned → en_route_to_pickup → picked_up → en_route →
arriving → delivered``. An order without a pickup stop (the parcel is already on the
vehicle, loaded at the depot) skips the pickup leg: ``assigned → en_route``. Side exits:
``failed`` (then ``rescheduled``, ``returned`` or a same-day re-attempt via ``assigned``),
``cancelled`` before the parcel is in the driver's hands, and ``rescheduled → assigned``.
"""

from collections.abc import Mapping

from shared.enums import OrderStatus as S

TERMINAL: frozenset[S] = frozenset({S.DELIVERED, S.RETURNED, S.CANCELLED})

_TRANSITIONS: Mapping[S, frozenset[S]] = {
    S.CREATED: frozenset({S.ASSIGNED, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.CREATED, S.EN_ROUTE_TO_PICKUP, S.EN_ROUTE, S.CANCELLED}),
    S.EN_ROUTE_TO_PICKUP: frozenset({S.ASSIGNED, S.PICKED_UP, S.FAILED, S.CANCELLED}),
    S.PICKED_UP: frozenset({S.EN_ROUTE, S.FAILED}),
    S.EN_ROUTE: frozenset({S.ARRIVING, S.DELIVERED, S.FAILED}),
    S.ARRIVING: frozenset({S.EN_ROUTE, S.DELIVERED, S.FAILED}),
    S.FAILED: frozenset({S.ASSIGNED, S.RESCHEDULED, S.RETURNED}),
    S.RESCHEDULED: frozenset({S.ASSIGNED, S.CANCELLED}),
    S.DELIVERED: frozenset(),
    S.RETURNED: frozenset(),
    S.CANCELLED: frozenset(),
}

# States a driver may move their own order into; everything else is dispatch's call.
DRIVER_TARGETS: frozenset[S] = frozenset(
    {S.EN_ROUTE_TO_PICKUP, S.PICKED_UP, S.EN_ROUTE, S.ARRIVING, S.DELIVERED, S.FAILED}
)


class IllegalTransitionError(ValueError):
    """A requested status change the lifecycle does not allow."""

    def __init__(self, current: S, requested: S, reason: str) -> None:
        self.current = current
        self.requested = requested
        super().__init__(f"cannot move an order from '{current}' to '{requested}': {reason}")


def allowed_targets(current: S, *, has_pickup: bool) -> frozenset[S]:
    """Statuses reachable from ``current`` in one step, for an order with/without a pickup."""
    targets = _TRANSITIONS[current]
    if current is S.ASSIGNED:
        skipped = S.EN_ROUTE if has_pickup else S.EN_ROUTE_TO_PICKUP
        targets = targets - {skipped}
    return targets


def check_transition(current: S, requested: S, *, has_pickup: bool) -> None:
    """Raise :class:`IllegalTransitionError` unless ``current → requested`` is allowed."""
    if current is requested:
        raise IllegalTransitionError(current, requested, "the order is already in that state")
    if current in TERMINAL:
        raise IllegalTransitionError(current, requested, f"'{current}' is final")
    if requested not in allowed_targets(current, has_pickup=has_pickup):
        if current is S.ASSIGNED and requested is S.EN_ROUTE and has_pickup:
            reason = "the order has a pickup stop; go 'en_route_to_pickup' first"
        elif current is S.ASSIGNED and requested is S.EN_ROUTE_TO_PICKUP:
            reason = "the order has no pickup stop; go 'en_route'"
        else:
            options = ", ".join(sorted(allowed_targets(current, has_pickup=has_pickup)))
            reason = f"allowed next states are: {options}"
        raise IllegalTransitionError(current, requested, reason)


def all_transitions(*, has_pickup: bool) -> set[tuple[S, S]]:
    """Every legal (from, to) pair; the test suite walks this and its complement."""
    return {(src, dst) for src in S for dst in allowed_targets(src, has_pickup=has_pickup)}
