"""The inbox's pure rules: keys, actions, who is on shift, who has gone silent."""

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.pod.inbox_rules import (
    BadKeyError,
    RouteSpan,
    actions_for,
    on_shift,
    order_event_key,
    parse_key,
    silent_drivers,
    silent_key,
)
from shared.enums import DriverStatus, OrderStatus, RouteStatus
from shared.schemas.exceptions import ExceptionAction as A
from shared.schemas.exceptions import ExceptionKind as K

NOON = datetime(2031, 3, 14, 12, tzinfo=UTC)


def test_keys_read_back_and_a_malformed_one_says_what_a_key_looks_like() -> None:
    key = order_event_key(K.FAILED_DELIVERY, 12, 345)
    assert key == "failed_delivery:order:12:event:345"
    parsed = parse_key(key)
    assert (parsed.kind, parsed.order_id, parsed.driver_id, parsed.event_id) == (
        K.FAILED_DELIVERY,
        12,
        None,
        345,
    )
    silent = parse_key(silent_key(7, 1_900_000_000.8))
    assert (silent.kind, silent.driver_id, silent.event_id) == (K.DRIVER_SILENT, 7, None)
    assert silent_key(7, None) == "driver_silent:driver:7:fix:none"
    for bad, says in (
        ("hello", "expected"),
        ("volcano:order:1:event:2", "not a kind of exception"),
        ("failed_delivery:driver:1:event:2", "does not fit"),
        ("driver_silent:driver:1:event:2", "does not fit"),
        ("off_route:driver:1:event:none", "does not fit"),
    ):
        with pytest.raises(BadKeyError, match=says):
            parse_key(bad)


def test_actions_offered_fit_the_orders_status_and_whether_there_is_a_number() -> None:
    failed = actions_for(K.FAILED_DELIVERY, OrderStatus.FAILED, "+377 600")
    assert failed == [A.REASSIGN, A.RESCHEDULE, A.CALL, A.RESOLVE]
    on_the_way = actions_for(K.LATE_RISK, OrderStatus.EN_ROUTE, None)
    assert on_the_way == [A.REASSIGN, A.RESOLVE]  # too late to move its window
    delivered = actions_for(K.PROOF_FAR_FROM_ADDRESS, OrderStatus.DELIVERED, "+377 600")
    assert delivered == [A.CALL, A.RESOLVE]
    assert actions_for(K.DRIVER_SILENT, None, None) == [A.RESOLVE]


def _route(status: RouteStatus, start: datetime | None, end: datetime | None) -> RouteSpan:
    return RouteSpan(1, status, date(2031, 3, 14), start, end)


def test_on_shift_by_status_or_by_a_route_running_now() -> None:
    statuses = {
        1: DriverStatus.OFFLINE,
        2: DriverStatus.EN_ROUTE,
        3: DriverStatus.ON_BREAK,
        4: DriverStatus.IDLE,
    }
    assert on_shift(statuses, [], NOON) == {2, 4}
    hour = timedelta(hours=1)
    running = _route(RouteStatus.PUBLISHED, NOON - 3 * hour, NOON + hour)
    assert on_shift(statuses, [running], NOON) == {1, 2, 4}
    tomorrow = _route(RouteStatus.PUBLISHED, NOON + 20 * hour, NOON + 28 * hour)
    finished = _route(RouteStatus.PUBLISHED, NOON - 9 * hour, NOON - 2 * hour)
    draft = _route(RouteStatus.DRAFT, NOON - hour, NOON + hour)
    assert on_shift(statuses, [tomorrow, finished, draft], NOON) == {2, 4}
    assert on_shift({}, [_route(RouteStatus.IN_PROGRESS, None, None)], NOON) == {1}
    assert on_shift({}, [_route(RouteStatus.PUBLISHED, None, None)], NOON) == {1}  # today


def test_silent_after_the_threshold_and_no_fix_at_all_first() -> None:
    now = NOON.timestamp()
    last = {1: now - 599, 2: now - 601, 3: now - 3600}
    found = silent_drivers([1, 2, 3, 4], last, now, silent_after_s=600)
    assert [(s.driver_id, s.silent_s) for s in found] == [(4, None), (3, 3600), (2, 601)]
    assert silent_drivers([1, 2], last, now, silent_after_s=900) == []
