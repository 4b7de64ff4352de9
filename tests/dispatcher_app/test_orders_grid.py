"""The orders grid's filters, sort and bulk selection, the new-order form and the CSV
import, against the real backend through the real API client."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dispatcher_app.logic.order_filters import DayRange, SortChoice, WindowChoice
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.order_create import NO_GEOCODER
from shared.api_client import ApiClient
from shared.order_import import OrderField
from tests.factories import PASSWORD, Org, assign, create_order

NOW = datetime.now(UTC).replace(microsecond=0)
SQUARE = [[43.738, 7.424], [43.738, 7.432], [43.744, 7.432], [43.744, 7.424]]


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url) as api:
        yield api


async def signed_in(org: Org, client: ApiClient, page_size: int = 25) -> DispatcherAppState:
    app = DispatcherAppState(client, now=lambda: NOW, tz=UTC, page_size=page_size)
    assert await app.login(org.emails["dispatcher"], PASSWORD)
    return app


def refs(app: DispatcherAppState) -> set[str | None]:
    return {o.reference for o in app.orders.orders}


def at(lat: float, lng: float, hours_from_now: float | None = None) -> dict[str, object]:
    stop: dict[str, object] = {"address": "x", "lat": lat, "lng": lng}
    if hours_from_now is not None:
        start = NOW + timedelta(hours=hours_from_now)
        stop["time_window"] = {
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
        }
    return stop


async def test_driver_unassigned_and_zone_filters(org: Org, client: ApiClient) -> None:
    free_in = await create_order(org.dispatcher, dropoff=at(43.740, 7.428))
    free_out = await create_order(org.dispatcher, dropoff=at(43.700, 7.400))
    taken = await create_order(org.dispatcher, dropoff=at(43.741, 7.429))
    await assign(org.dispatcher, taken["id"], org.driver_ids[1])
    zone = await org.admin.post(
        "/api/v1/zones", json={"name": "Moulins", "kind": "zone", "points": SQUARE}
    )
    app = await signed_in(org, client)
    assert [z.name for z in app.fleet.zones] == ["Moulins"]

    await app.orders.set_driver_filter("unassigned")
    assert refs(app) == {free_in["reference"], free_out["reference"]}

    await app.orders.set_zone_filter(zone.json()["id"])
    assert refs(app) == {free_in["reference"]}

    await app.orders.set_driver_filter(org.driver_ids[1])
    assert refs(app) == {taken["reference"]}

    await app.orders.set_zone_filter(None)
    await app.orders.set_driver_filter(None)
    assert app.orders.total == 3


async def test_window_filter_and_sort(org: Org, client: ApiClient) -> None:
    soon = await create_order(org.dispatcher, dropoff=at(43.74, 7.42, hours_from_now=0))
    later = await create_order(org.dispatcher, dropoff=at(43.74, 7.42, hours_from_now=50))
    app = await signed_in(org, client)

    await app.orders.set_sort(SortChoice.WINDOW)
    assert [o.reference for o in app.orders.orders] == [soon["reference"], later["reference"]]

    day_after_next = (NOW + timedelta(hours=50)).date()
    await app.orders.set_window(WindowChoice.RANGE, DayRange(day_after_next, day_after_next))
    assert refs(app) == {later["reference"]}

    await app.orders.set_window(WindowChoice.ANY)
    assert app.orders.days is None
    assert app.orders.total == 2
    with pytest.raises(ValueError, match="needs its days"):
        await app.orders.set_window(WindowChoice.RANGE)


async def test_bulk_selection_survives_reloads_for_rows_still_listed(
    org: Org, client: ApiClient
) -> None:
    orders = [await create_order(org.dispatcher) for _ in range(3)]
    await assign(org.dispatcher, orders[0]["id"], org.driver_ids[0])
    app = await signed_in(org, client)

    app.orders.select_all_loaded()
    assert app.orders.selected == {o["id"] for o in orders}
    assert app.orders.all_loaded_selected
    app.orders.toggle(orders[1]["id"])
    assert [o.id for o in app.orders.selected_orders()] == [orders[2]["id"], orders[0]["id"]]

    await app.orders.reload()
    assert app.orders.selected == {orders[0]["id"], orders[2]["id"]}

    await app.orders.set_driver_filter("unassigned")  # the assigned one leaves the grid
    assert app.orders.selected == {orders[2]["id"]}

    app.orders.clear_selection()
    assert app.orders.selected_orders() == []
    app.logout()
    assert app.orders.selected == set()


async def test_new_order_is_checked_then_created(org: Org, client: ApiClient) -> None:
    app = await signed_in(org, client)
    form = app.order_create
    form.open()

    assert not await form.submit()
    assert set(form.field_errors) == {
        OrderField.RECIPIENT_NAME,
        OrderField.ADDRESS,
        OrderField.LAT,
        OrderField.LNG,
    }

    await form.find_address()  # nothing typed yet
    assert form.field_errors[OrderField.ADDRESS] == "type at least three characters"
    form.set_value(OrderField.ADDRESS, "12 Boulevard des Moulins")
    await form.find_address()
    assert form.notice == NO_GEOCODER  # the test server has no geocoder

    form.set_value(OrderField.REFERENCE, "NEW-1")
    form.set_value(OrderField.RECIPIENT_NAME, "Nina")
    form.set_value(OrderField.WINDOW_START, "2031-03-14 09:00")
    form.set_value(OrderField.WINDOW_END, "2031-03-14 08:00")
    form.pin(43.7402, 7.4276)
    assert not await form.submit()
    assert form.field_errors == {OrderField.WINDOW_END: "time window end must be after its start"}

    form.set_value(OrderField.WINDOW_END, "2031-03-14 11:00")
    form.set_value(OrderField.BARCODES, "NEWBC-1")
    assert await form.submit()
    assert not form.is_open
    assert form.created is not None
    assert form.created.reference == "NEW-1"
    assert refs(app) == {"NEW-1"}  # the grid was read again

    form.open()
    for key, value in {
        OrderField.RECIPIENT_NAME: "Nils",
        OrderField.ADDRESS: "1 Rue",
        OrderField.BARCODES: "NEWBC-1",
    }.items():
        form.set_value(key, value)
    form.pin(43.74, 7.42)
    assert not await form.submit()
    assert form.error == "barcode(s) already used in this organisation: NEWBC-1"


async def test_address_candidates_are_listed_and_one_is_taken() -> None:
    answers = [
        {"address": "Boulevard des Moulins, Monaco", "lat": 43.7402, "lon": 7.4276},
        {"address": "Moulins, France", "lat": 46.566, "lon": 3.333},
    ]

    def server(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/geocode"
        assert request.url.params["q"] == "Moulins"
        return httpx.Response(200, content=json.dumps(answers))

    async with ApiClient("http://lastmile.test", transport=httpx.MockTransport(server)) as api:
        app = DispatcherAppState(api, now=lambda: NOW, tz=UTC)
        form = app.order_create
        form.open()
        form.set_value(OrderField.ADDRESS, "Moulins")
        await form.find_address()
        assert [c.address for c in form.candidates] == [a["address"] for a in answers]

        form.choose(form.candidates[0])

    assert form.candidates == []
    assert form.values[OrderField.ADDRESS] == "Boulevard des Moulins, Monaco"
    assert (form.values[OrderField.LAT], form.values[OrderField.LNG]) == ("43.740200", "7.427600")


CSV = """reference,name,address,lat,lon,barcode
IMP-1,Ann,1 Rue A,43.74,7.42,IMPBC-1
IMP-2,Bob,2 Rue B,north,7.42,IMPBC-2
IMP-3,Cy,3 Rue C,43.75,7.43,IMPBC-3
IMP-4,Di,4 Rue D,43.75,7.43,IMPBC-4
"""


async def test_import_reports_rows_and_imports_valid_ones_in_batches(
    org: Org, client: ApiClient
) -> None:
    app = await signed_in(org, client)
    importer = app.order_import
    importer.batch = 2  # the server takes 1000 at once; 2 shows the chunks
    importer.open()

    importer.load_text(CSV, "orders.csv")

    assert [(r.row, r.ok) for r in importer.results] == [
        (2, True),
        (3, False),
        (4, True),
        (5, True),
    ]
    [error] = importer.results[1].errors
    assert (error.column, error.message) == ("lat", "'north' is not a latitude in degrees")
    assert not importer.can_import_all
    await importer.import_all()  # refused while a row fails: nothing sent
    assert importer.created is None
    assert app.orders.total == 0

    await importer.import_valid()

    assert importer.created == 3
    assert importer.error is None
    assert refs(app) == {"IMP-1", "IMP-3", "IMP-4"}


async def test_a_mapping_change_revalidates_and_a_refused_batch_says_which_rows(
    org: Org, client: ApiClient
) -> None:
    await create_order(org.dispatcher, barcodes=["TAKEN-1"])
    app = await signed_in(org, client)
    importer = app.order_import
    importer.open()
    importer.load_text("who,where,lat,lon,code\nAnn,1 Rue A,43.74,7.42,TAKEN-1\n")
    assert importer.missing == [OrderField.RECIPIENT_NAME, OrderField.ADDRESS]
    assert not importer.results[0].ok

    importer.map_column(OrderField.RECIPIENT_NAME, 0)
    importer.map_column(OrderField.ADDRESS, 1)
    importer.map_column(OrderField.BARCODES, 4)
    assert importer.missing == []
    assert importer.can_import_all

    await importer.import_all()

    assert importer.created == 0
    assert importer.error == (
        "Rows 2 to 2 were refused, none of them stored: "
        "barcode(s) already used in this organisation: TAKEN-1"
    )
    assert importer.results  # the report stays to fix the file


def test_an_unreadable_file_is_said_so() -> None:
    app = DispatcherAppState(ApiClient("http://lastmile.test"), now=lambda: NOW, tz=UTC)
    app.order_import.load_text("", "empty.csv")
    assert app.order_import.error == "Cannot read empty.csv: the file is empty."
