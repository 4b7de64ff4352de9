"""One line of the orders grid, from an order and the drivers' names."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, tzinfo

from app_kit.labels import status_label
from app_kit.time_windows import format_window
from shared.enums import OrderStatus, StopKind
from shared.schemas.orders import OrderOut, StopOut

UNASSIGNED = "Unassigned"

# The status filter's choices, in lifecycle order; None shows every status.
STATUS_FILTERS: tuple[OrderStatus | None, ...] = (None, *OrderStatus)


@dataclass(frozen=True, slots=True)
class OrderRow:
    """What the grid shows for one order, already in words."""

    order_id: int
    reference: str
    recipient: str
    address: str
    window: str
    status: str
    driver: str


def main_stop(order: OrderOut) -> StopOut | None:
    """The stop that defines the order for dispatch: the dropoff, else the pickup."""
    by_kind = {stop.kind: stop for stop in order.stops}
    return by_kind.get(StopKind.DROPOFF) or by_kind.get(StopKind.PICKUP)


def driver_label(driver_id: int | None, names: Mapping[int, str]) -> str:
    if driver_id is None:
        return UNASSIGNED
    return names.get(driver_id) or f"Driver #{driver_id}"


def order_row(order: OrderOut, names: Mapping[int, str], *, tz: tzinfo, today: date) -> OrderRow:
    stop = main_stop(order)
    return OrderRow(
        order_id=order.id,
        reference=order.reference or f"#{order.id}",
        recipient=order.recipient_name,
        address=stop.address if stop is not None else "",
        window=(
            format_window(stop.window_start, stop.window_end, tz=tz, today=today)
            if stop is not None
            else ""
        ),
        status=status_label(order.status),
        driver=driver_label(order.driver_id, names),
    )


def filter_label(status: OrderStatus | None) -> str:
    return "All statuses" if status is None else status_label(status)
