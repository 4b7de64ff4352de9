"""Which notice an order event calls for, and the arriving window (pure)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.notifications.templates import DEFAULTS, NOTICE_KEYS
from backend.notifications.triggers import (
    TEMPLATE,
    Trigger,
    arriving_due,
    dedupe_key,
    trigger_for,
    trigger_of,
)
from backend.pod.failures import NOTICES
from shared.enums import EventKind, OrderStatus
from shared.schemas.notifications import NOTICE_TRIGGERS

S = OrderStatus


@pytest.mark.parametrize(
    ("to_status", "trigger"),
    [
        (S.ASSIGNED, Trigger.SCHEDULED),
        (S.EN_ROUTE, Trigger.OUT_FOR_DELIVERY),
        (S.DELIVERED, Trigger.DELIVERED),
        (S.RESCHEDULED, Trigger.RESCHEDULED),
        (S.ARRIVING, None),  # the geofence's "at the door": the ETA's notice came before
        (S.PICKED_UP, None),
        (S.CANCELLED, None),
        (S.FAILED, None),  # the failure report queues its own notice, with the next step
    ],
)
def test_a_status_change_fires_its_trigger(to_status: OrderStatus, trigger: Trigger | None) -> None:
    assert trigger_for(EventKind.STATUS_CHANGED, to_status, {}) is trigger


@pytest.mark.parametrize("details", [{"failure": {}}, {"follow_up": "next_day"}])
@pytest.mark.parametrize("to_status", [S.DELIVERED, S.RESCHEDULED, S.ASSIGNED])
def test_a_change_made_by_a_failure_report_sends_nothing_more(
    to_status: OrderStatus, details: dict[str, object]
) -> None:
    assert trigger_for(EventKind.STATUS_CHANGED, to_status, details) is None


@pytest.mark.parametrize("kind", [k for k in EventKind if k is not EventKind.STATUS_CHANGED])
def test_only_status_changes_fire(kind: EventKind) -> None:
    assert trigger_for(kind, S.DELIVERED, {}) is None


def test_every_trigger_has_its_template_and_the_wire_lists_them_all() -> None:
    assert set(TEMPLATE.values()) | set(NOTICES.values()) == NOTICE_KEYS == set(DEFAULTS["en"])
    assert set(NOTICE_TRIGGERS) == {t.value for t in Trigger}
    assert {trigger_of(key) for key in NOTICES.values()} == {Trigger.FAILED}
    assert all(trigger_of(key) is trigger for trigger, key in TEMPLATE.items())


def test_dedupe_keys_name_the_order_the_trigger_and_the_occasion() -> None:
    assert dedupe_key(7, Trigger.ARRIVING) == "order:7:arriving"
    assert dedupe_key(7, Trigger.SCHEDULED, "2026-12-05") == "order:7:scheduled:2026-12-05"


@given(
    now=st.floats(0, 2e9),
    ahead_s=st.floats(-3600, 7200),
    minutes=st.integers(1, 120),
)
def test_arriving_is_due_exactly_within_the_minutes_and_never_after_the_fact(
    now: float, ahead_s: float, minutes: int
) -> None:
    assert arriving_due(now + ahead_s, now, minutes) == (0 <= (now + ahead_s) - now <= minutes * 60)
    if ahead_s < -1e-3:
        assert not arriving_due(now + ahead_s, now, minutes)
