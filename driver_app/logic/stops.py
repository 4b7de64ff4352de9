"""The driver's day: stops in route order, which are finished, which one is next."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from app_kit.labels import status_label
from shared.enums import OrderStatus, StopKind
from shared.schemas.fleet import RouteOut
from shared.schemas.orders import OrderOut, StopOut

S = OrderStatus

# Once the order is in one of these states the stop needs no more visits today.
_PICKUP_DONE = frozenset(
    {
        S.PICKED_UP,
        S.EN_ROUTE,
        S.ARRIVING,
        S.DELIVERED,
        S.FAILED,
        S.RETURNED,
        S.CANCELLED,
        S.RESCHEDULED,
    }
)
_DROPOFF_DONE = frozenset({S.DELIVERED, S.FAILED, S.RETURNED, S.CANCELLED, S.RESCHEDULED})
_SIDE_EXITS = frozenset({S.FAILED, S.RETURNED, S.CANCELLED, S.RESCHEDULED})
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StopLine:
    """One stop of the day, with what the driver needs to know about its order."""

    stop: StopOut
    route_id: int
    order: OrderOut | None  # None when the order is not visible to this driver

    @property
    def order_status(self) -> OrderStatus | None:
        return self.order.status if self.order is not None else None

    @property
    def finished(self) -> bool:
        return is_finished(self.stop, self.order_status)


def is_finished(stop: StopOut, order_status: OrderStatus | None) -> bool:
    """Whether the stop needs no visit any more: left already, or its order moved past it."""
    if stop.actual_departure_at is not None:
        return True
    if order_status is None:
        return False
    done = _PICKUP_DONE if stop.kind is StopKind.PICKUP else _DROPOFF_DONE
    return order_status in done


def _route_key(route: RouteOut) -> tuple[bool, datetime, int]:
    start = route.planned_start_at
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return (start is None, start or _EARLIEST, route.id)


def order_stops(routes: Iterable[RouteOut], orders: Mapping[int, OrderOut]) -> list[StopLine]:
    """The day's stops: routes by planned start (then id), each route's stops by sequence."""
    lines: list[StopLine] = []
    for route in sorted(routes, key=_route_key):
        stops = sorted(route.stops, key=lambda s: (s.sequence is None, s.sequence or 0, s.id))
        lines.extend(StopLine(stop, route.id, orders.get(stop.order_id)) for stop in stops)
    return lines


def next_stop_index(lines: Sequence[StopLine]) -> int | None:
    """The first stop still to visit, or None when the day is done."""
    return next((i for i, line in enumerate(lines) if not line.finished), None)


def stop_status_label(line: StopLine) -> str:
    """What happened at the stop, or where its order stands when nothing has yet."""
    status = line.order_status
    if line.finished:
        if status in _SIDE_EXITS:
            return status_label(status)
        if line.stop.kind is StopKind.PICKUP:
            return "Picked up"
        return "Delivered" if status is S.DELIVERED else "Done"
    if line.stop.actual_arrival_at is not None:
        return "Arrived"
    return status_label(status) if status is not None else "Planned"


def eta_label(line: StopLine, tz: tzinfo) -> str | None:
    """``ETA 14:05`` (the live estimate, else the planned arrival) while the stop is to do."""
    if line.finished or line.stop.actual_arrival_at is not None:
        return None
    at = line.stop.eta_at or line.stop.planned_arrival_at
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return f"ETA {at.astimezone(tz):%H:%M}"


def parcels_label(line: StopLine) -> str | None:
    """``3 parcels``; None when the order lists none (or is not visible)."""
    count = len(line.order.barcodes) if line.order is not None else 0
    if count == 0:
        return None
    return f"{count} parcel{'s' if count != 1 else ''}"
