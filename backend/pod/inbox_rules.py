"""Pure rules of the exceptions inbox: item keys, the actions offered, who is on shift and
which drivers have gone silent. No I/O (see ``backend.pod.inbox`` for the queries)."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.enums import DriverStatus, OrderStatus, RouteStatus
from shared.lifecycle import TERMINAL
from shared.schemas.exceptions import ExceptionAction, ExceptionKind

# Items about an order's trouble: the customer is who the dispatcher calls.
CUSTOMER_KINDS = frozenset(
    {ExceptionKind.FAILED_DELIVERY, ExceptionKind.LATE_RISK, ExceptionKind.CUSTOMER_REQUEST}
)
DRIVER_KINDS = frozenset({ExceptionKind.OFF_ROUTE, ExceptionKind.DRIVER_SILENT})
# Where a new window can be set (PATCH /orders/{id} takes stops in these, and a failed
# order is first moved to ``rescheduled``).
_RESCHEDULABLE = frozenset(
    {OrderStatus.FAILED, OrderStatus.RESCHEDULED, OrderStatus.CREATED, OrderStatus.ASSIGNED}
)
_WORKING = frozenset({DriverStatus.IDLE, DriverStatus.EN_ROUTE, DriverStatus.DELIVERING})
# A published route counts as running from a little before its planned start to an hour
# after its planned end (drivers start early and finish late).
_EARLY = timedelta(minutes=15)
_LATE = timedelta(hours=1)
_SHIFT_WITHOUT_END = timedelta(hours=12)

_KEY = re.compile(r"^([a-z_]{3,40}):(order|driver):(\d{1,18}):(event|fix):(\d{1,18}|none)$")


def order_event_key(kind: ExceptionKind, order_id: int, event_id: int) -> str:
    return f"{kind.value}:order:{order_id}:event:{event_id}"


def driver_event_key(kind: ExceptionKind, driver_id: int, event_id: int) -> str:
    return f"{kind.value}:driver:{driver_id}:event:{event_id}"


def silent_key(driver_id: int, last_fix_s: float | None) -> str:
    """Silent since the fix at ``last_fix_s`` (epoch seconds): once resolved, the same
    silence stays resolved; a new fix and a new silence make a new item."""
    fix = "none" if last_fix_s is None else str(int(last_fix_s))
    return f"{ExceptionKind.DRIVER_SILENT.value}:driver:{driver_id}:fix:{fix}"


class BadKeyError(ValueError):
    """Not the key of an inbox item."""


@dataclass(frozen=True, slots=True)
class ParsedKey:
    kind: ExceptionKind
    order_id: int | None
    driver_id: int | None
    event_id: int | None  # None for a silent driver


def parse_key(key: str) -> ParsedKey:
    """The parts of an item's key, or :class:`BadKeyError` saying what is wrong."""
    found = _KEY.match(key)
    if found is None:
        raise BadKeyError(
            f"{key!r} is not an exceptions inbox key: expected "
            "'<kind>:order:<id>:event:<id>', '<kind>:driver:<id>:event:<id>' or "
            "'driver_silent:driver:<id>:fix:<epoch seconds or none>'"
        )
    kind_text, subject, subject_id, ref, ref_id = found.groups()
    try:
        kind = ExceptionKind(kind_text)
    except ValueError:
        raise BadKeyError(
            f"{kind_text!r} is not a kind of exception; kinds: {', '.join(ExceptionKind)}"
        ) from None
    silent = kind is ExceptionKind.DRIVER_SILENT
    expected_subject = "driver" if kind in DRIVER_KINDS else "order"
    expected_ref = "fix" if silent else "event"
    if subject != expected_subject or ref != expected_ref or (ref_id == "none" and not silent):
        raise BadKeyError(f"{key!r} does not fit a {kind.value} item")
    return ParsedKey(
        kind=kind,
        order_id=int(subject_id) if subject == "order" else None,
        driver_id=int(subject_id) if subject == "driver" else None,
        event_id=None if silent else int(ref_id),
    )


def actions_for(
    kind: ExceptionKind, order_status: OrderStatus | None, phone: str | None
) -> list[ExceptionAction]:
    """What can resolve an item: ``reassign`` while the order can still go to a driver,
    ``reschedule`` where a new window can be set, ``call`` when there is a number."""
    actions: list[ExceptionAction] = []
    if order_status is not None and order_status not in TERMINAL:
        if order_status in _RESCHEDULABLE or kind in CUSTOMER_KINDS:
            actions.append(ExceptionAction.REASSIGN)
        if order_status in _RESCHEDULABLE:
            actions.append(ExceptionAction.RESCHEDULE)
    if phone:
        actions.append(ExceptionAction.CALL)
    actions.append(ExceptionAction.RESOLVE)
    return actions


@dataclass(frozen=True, slots=True)
class RouteSpan:
    driver_id: int
    status: RouteStatus
    service_date: date
    planned_start_at: datetime | None
    planned_end_at: datetime | None


def route_running(route: RouteSpan, now: datetime) -> bool:
    """Whether ``route`` has its driver working at ``now`` (UTC, aware)."""
    if route.status is RouteStatus.IN_PROGRESS:
        return True
    if route.status is not RouteStatus.PUBLISHED:
        return False
    start, end = route.planned_start_at, route.planned_end_at
    if start is None:
        return route.service_date == now.date()
    until = end + _LATE if end is not None else start + _SHIFT_WITHOUT_END
    return start - _EARLY <= now <= until


def on_shift(
    statuses: Mapping[int, DriverStatus], routes: Iterable[RouteSpan], now: datetime
) -> set[int]:
    """Drivers working now: their status says so (a break is not work), or a route of
    theirs is running."""
    working = {d for d, status in statuses.items() if status in _WORKING}
    return working | {r.driver_id for r in routes if route_running(r, now)}


@dataclass(frozen=True, slots=True)
class Silence:
    driver_id: int
    last_fix_s: float | None  # epoch seconds; None: no position at all
    silent_s: float | None


def silent_drivers(
    working: Iterable[int], last_fix: Mapping[int, float], now_s: float, silent_after_s: float
) -> list[Silence]:
    """Working drivers whose newest fix (epoch seconds) is older than ``silent_after_s``,
    or who have none, longest silent first (no fix at all comes first)."""
    found = []
    for driver_id in working:
        fix = last_fix.get(driver_id)
        if fix is None:
            found.append(Silence(driver_id, None, None))
        elif now_s - fix > silent_after_s:
            found.append(Silence(driver_id, fix, now_s - fix))
    return sorted(found, key=lambda s: (s.last_fix_s is not None, s.last_fix_s or 0, s.driver_id))
