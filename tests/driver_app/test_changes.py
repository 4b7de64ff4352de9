"""A reload laid over what the driver sees: the stop they are heading to stays next, and
what changed is marked (pure logic, no server)."""

from datetime import timedelta
from itertools import combinations
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from driver_app.logic.changes import Change, change_label, reconcile
from driver_app.logic.stops import StopLine
from shared.enums import OrderStatus
from shared.schemas.orders import OrderOut
from tests.driver_app.test_logic import T0, stop

S = OrderStatus


def order(order_id: int, status: OrderStatus = S.ASSIGNED, **extra: Any) -> OrderOut:
    values: dict[str, Any] = {
        "id": order_id,
        "org_id": 1,
        "reference": None,
        "status": status,
        "recipient_name": "Rita",
        "recipient_phone": None,
        "recipient_email": None,
        "weight_kg": 1.0,
        "volume_m3": 0.0,
        "priority": 0,
        "required_proofs": [],
        "notes": "",
        "instructions": "",
        "driver_id": 1,
        "barcodes": [],
        "stops": [],
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(extra)
    return OrderOut.model_validate(values)


def line(stop_id: int, status: OrderStatus = S.ASSIGNED, **changes: Any) -> StopLine:
    """Stop ``stop_id`` of order ``stop_id``; ``changes`` go to the stop or the order."""
    stop_fields = {k: v for k, v in changes.items() if k in ("window_start", "address")}
    order_fields = {k: v for k, v in changes.items() if k not in stop_fields}
    return StopLine(stop(stop_id, None, **stop_fields), 1, order(stop_id, status, **order_fields))


def ids(lines: list[StopLine]) -> list[int]:
    return [each.stop.id for each in lines]


def test_a_pushed_reorder_keeps_the_next_stop_first_with_a_notice() -> None:
    before = [line(1), line(2), line(3)]

    after = reconcile(before, 0, [line(3), line(2), line(1)])

    assert ids(after.lines) == [1, 3, 2]  # 1 stays next; the rest in dispatch's new order
    assert after.next_index == 0
    assert after.kept_first is not None
    assert after.kept_first.stop.id == 1
    assert 1 not in after.changed  # it did not move on the driver's screen
    assert sum(Change.MOVED in marks for marks in after.changed.values()) == 1


def test_the_next_stop_after_finished_ones_keeps_its_place_too() -> None:
    done = line(1, S.DELIVERED)
    before = [done, line(2), line(3)]

    after = reconcile(before, 1, [done, line(3), line(2)])

    assert ids(after.lines) == [1, 2, 3]
    assert after.next_index == 1
    assert after.kept_first is not None


def test_once_finished_the_kept_stop_lets_dispatchs_order_apply() -> None:
    before = [line(1), line(3), line(2)]  # 1 was kept first against dispatch's 3, 2, 1

    after = reconcile(before, 0, [line(3), line(2), line(1, S.DELIVERED)])

    assert ids(after.lines) == [3, 2, 1]
    assert after.next_index == 0
    assert after.kept_first is None
    assert after.taken_off == []


def test_a_reload_with_nothing_new_marks_nothing() -> None:
    before = [line(1), line(2)]

    after = reconcile(before, 0, [line(1), line(2)])

    assert ids(after.lines) == [1, 2]
    assert after.changed == {}
    assert after.kept_first is None
    assert after.taken_off == []


def test_new_instructions_window_and_address_are_marked_on_their_stop() -> None:
    before = [line(1), line(2), line(3)]
    fresh = [
        line(1),
        line(2, instructions="Gate code: 4821"),
        line(3, window_start=T0 + timedelta(hours=2), address="9 Quai Antoine"),
    ]

    after = reconcile(before, 0, fresh)

    assert after.changed == {
        2: frozenset({Change.INSTRUCTIONS}),
        3: frozenset({Change.WINDOW, Change.ADDRESS}),
    }
    assert change_label(after.changed[3]) == "Changed: new time window · new address"


def test_dispatchs_status_changes_are_marked_the_drivers_own_progress_is_not() -> None:
    before = [line(1), line(2), line(3)]

    after = reconcile(before, 0, [line(1, S.EN_ROUTE), line(2, S.CANCELLED), line(3)])

    assert after.changed == {2: frozenset({Change.STATUS})}
    assert after.next_index == 0


def test_new_and_removed_stops() -> None:
    before = [line(1), line(2)]

    after = reconcile(before, 0, [line(1), line(4)])

    assert after.changed == {4: frozenset({Change.NEW})}
    assert ids(after.taken_off) == [2]


def test_a_next_stop_taken_off_the_route_cannot_be_kept() -> None:
    before = [line(1), line(2), line(3)]

    after = reconcile(before, 0, [line(3), line(2)])

    assert ids(after.lines) == [3, 2]
    assert after.kept_first is None
    assert ids(after.taken_off) == [1]


@given(st.permutations(range(1, 8)))
def test_as_few_stops_as_possible_are_marked_moved(order_after: list[int]) -> None:
    """The unmarked stops keep their old order, and no larger set of them does."""
    before = [line(i) for i in range(1, 8)]
    fresh = [line(i) for i in order_after]

    after = reconcile(before, None, fresh)  # no next stop to keep: dispatch's order as is

    assert ids(after.lines) == order_after
    unmoved = [i for i in order_after if Change.MOVED not in after.changed.get(i, ())]
    assert unmoved == sorted(unmoved)
    longest = max(
        k
        for k in range(1, 8)
        for subset in combinations(order_after, k)
        if list(subset) == sorted(subset)
    )
    assert len(unmoved) == longest
