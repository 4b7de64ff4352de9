"""The order state machine, pure: every legal and every illegal (from, to) pair."""

import itertools

import pytest

from shared.enums import OrderStatus as S
from shared.lifecycle import (
    DRIVER_TARGETS,
    TERMINAL,
    IllegalTransitionError,
    all_transitions,
    allowed_targets,
    check_transition,
)

HAPPY_WITH_PICKUP = [
    S.CREATED,
    S.ASSIGNED,
    S.EN_ROUTE_TO_PICKUP,
    S.PICKED_UP,
    S.EN_ROUTE,
    S.ARRIVING,
    S.DELIVERED,
]
HAPPY_WITHOUT_PICKUP = [S.CREATED, S.ASSIGNED, S.EN_ROUTE, S.ARRIVING, S.DELIVERED]
ALL_PAIRS = [(a, b) for a in S for b in S]


@pytest.mark.parametrize("has_pickup", [True, False])
@pytest.mark.parametrize(("current", "requested"), ALL_PAIRS, ids=lambda s: str(s))
def test_each_pair_is_allowed_exactly_when_listed(
    current: S, requested: S, has_pickup: bool
) -> None:
    legal = (current, requested) in all_transitions(has_pickup=has_pickup)
    if legal:
        check_transition(current, requested, has_pickup=has_pickup)
    else:
        with pytest.raises(IllegalTransitionError) as info:
            check_transition(current, requested, has_pickup=has_pickup)
        assert f"'{current}'" in str(info.value)
        assert f"'{requested}'" in str(info.value)


@pytest.mark.parametrize(
    ("path", "has_pickup"), [(HAPPY_WITH_PICKUP, True), (HAPPY_WITHOUT_PICKUP, False)]
)
def test_happy_paths_are_walkable(path: list[S], has_pickup: bool) -> None:
    for current, requested in itertools.pairwise(path):
        check_transition(current, requested, has_pickup=has_pickup)


def test_pickup_leg_depends_on_having_a_pickup() -> None:
    with pytest.raises(IllegalTransitionError, match="pickup stop"):
        check_transition(S.ASSIGNED, S.EN_ROUTE, has_pickup=True)
    with pytest.raises(IllegalTransitionError, match="no pickup stop"):
        check_transition(S.ASSIGNED, S.EN_ROUTE_TO_PICKUP, has_pickup=False)


@pytest.mark.parametrize("final", sorted(TERMINAL))
def test_final_states_go_nowhere(final: S) -> None:
    assert allowed_targets(final, has_pickup=True) == frozenset()
    with pytest.raises(IllegalTransitionError, match="is final"):
        check_transition(final, S.ASSIGNED, has_pickup=False)


def test_every_state_is_reachable_and_every_open_state_can_finish() -> None:
    for has_pickup in (True, False):
        edges = all_transitions(has_pickup=has_pickup)
        reached, frontier = {S.CREATED}, [S.CREATED]
        while frontier:
            src = frontier.pop()
            for a, b in edges:
                if a is src and b not in reached:
                    reached.add(b)
                    frontier.append(b)
        expected = set(S) - ({S.EN_ROUTE_TO_PICKUP, S.PICKED_UP} if not has_pickup else set())
        assert reached == expected
        for state in reached - TERMINAL:
            assert allowed_targets(state, has_pickup=has_pickup), state


def test_drivers_cannot_assign_cancel_or_reschedule() -> None:
    assert {S.ASSIGNED, S.CANCELLED, S.RESCHEDULED, S.RETURNED, S.CREATED}.isdisjoint(
        DRIVER_TARGETS
    )
