"""Pure logic of the dispatcher app: a grid line from an order."""

from datetime import UTC, date, datetime
from typing import Any

from dispatcher_app.logic.orders import (
    STATUS_FILTERS,
    UNASSIGNED,
    driver_label,
    filter_label,
    order_row,
)
from shared.enums import OrderStatus
from shared.schemas.orders import OrderOut

NOW = datetime(2031, 3, 14, 8, 0, tzinfo=UTC)


def stop(kind: str, address: str, start: datetime | None = None) -> dict[str, Any]:
    return {
        "id": 1 if kind == "pickup" else 2,
        "order_id": 7,
        "kind": kind,
        "address": address,
        "lat": 43.73,
        "lng": 7.42,
        "window_start": start,
        "window_end": start.replace(hour=start.hour + 2) if start else None,
        "service_time_s": 120,
        "route_id": None,
        "sequence": None,
        "planned_arrival_at": None,
        "actual_arrival_at": None,
        "actual_departure_at": None,
    }


def order(stops: list[dict[str, Any]], **extra: Any) -> OrderOut:
    values: dict[str, Any] = {
        "id": 7,
        "org_id": 1,
        "reference": None,
        "status": "en_route_to_pickup",
        "recipient_name": "Rita",
        "recipient_phone": None,
        "recipient_email": None,
        "weight_kg": 0,
        "volume_m3": 0,
        "priority": 0,
        "required_proofs": [],
        "notes": "",
        "instructions": "",
        "driver_id": 3,
        "barcodes": [],
        "stops": stops,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(extra)
    return OrderOut.model_validate(values)


def test_the_dropoff_defines_the_line() -> None:
    both = order([stop("pickup", "Depot", NOW), stop("dropoff", "1 Rue Bosio", NOW)])

    row = order_row(both, {3: "Jonas"}, tz=UTC, today=date(2031, 3, 15))

    assert row.reference == "#7"  # no reference: the id stands in
    assert row.address == "1 Rue Bosio"
    assert row.window == "Fri 14 Mar 08:00\N{EN DASH}10:00"
    assert row.status == "En route to pickup"
    assert row.driver == "Jonas"


def test_a_pickup_only_order_shows_its_pickup() -> None:
    row = order_row(order([stop("pickup", "Depot")], reference="R-1"), {}, tz=UTC, today=NOW.date())
    assert (row.reference, row.address, row.window) == ("R-1", "Depot", "Any time")


def test_driver_labels() -> None:
    assert driver_label(None, {}) == UNASSIGNED
    assert driver_label(4, {4: "Maya"}) == "Maya"
    assert driver_label(5, {}) == "Driver #5"  # a driver removed since


def test_the_filter_offers_every_status_after_all() -> None:
    assert STATUS_FILTERS[0] is None
    assert set(STATUS_FILTERS[1:]) == set(OrderStatus)
    assert filter_label(None) == "All statuses"
    assert filter_label(OrderStatus.EN_ROUTE_TO_PICKUP) == "En route to pickup"
