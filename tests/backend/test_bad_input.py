"""Bad input gets a clear 4xx naming what is wrong, and nothing is half-written."""

from typing import Any

import pytest

from tests.factories import Org, create_order, order_payload


def fields_named(response_json: dict[str, Any]) -> set[str]:
    return {d["field"] for d in response_json["error"]["details"]}


@pytest.mark.parametrize(
    ("dropoff_patch", "field"),
    [
        ({"lat": 90.5}, "dropoff.lat"),
        ({"lat": -91}, "dropoff.lat"),
        ({"lng": 180.01}, "dropoff.lng"),
        ({"lng": -181}, "dropoff.lng"),
        ({"lat": "NaN"}, "dropoff.lat"),
        ({"lng": "Infinity"}, "dropoff.lng"),
    ],
)
async def test_coordinates_out_of_range_are_422_naming_the_field(
    shared_org: Org, dropoff_patch: dict[str, Any], field: str
) -> None:
    payload = order_payload()
    payload["dropoff"].update(dropoff_patch)
    response = await shared_org.dispatcher.post("/api/v1/orders", json=payload)
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    assert field in fields_named(body)
    assert field in body["error"]["message"]


async def test_bare_nan_literal_in_json_is_refused(shared_org: Org) -> None:
    raw = '{"recipient_name": "A", "dropoff": {"address": "x", "lat": NaN, "lng": 7.4}}'
    response = await shared_org.dispatcher.post(
        "/api/v1/orders", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "dropoff.lat" in fields_named(response.json())


async def test_unknown_fields_are_refused(shared_org: Org) -> None:
    response = await shared_org.dispatcher.post("/api/v1/orders", json=order_payload(colour="blue"))
    assert response.status_code == 422
    assert fields_named(response.json()) == {"colour"}
    nested = order_payload()
    nested["dropoff"]["floor"] = 3
    response = await shared_org.dispatcher.post("/api/v1/orders", json=nested)
    assert fields_named(response.json()) == {"dropoff.floor"}


async def test_time_window_ending_before_it_starts_is_refused(shared_org: Org) -> None:
    payload = order_payload()
    window = payload["dropoff"]["time_window"]
    window["start"], window["end"] = window["end"], window["start"]
    response = await shared_org.dispatcher.post("/api/v1/orders", json=payload)
    assert response.status_code == 422
    assert "end must be after its start" in response.json()["error"]["message"]


async def test_naive_times_are_refused(shared_org: Org) -> None:
    payload = order_payload()
    payload["dropoff"]["time_window"] = {"start": "2030-01-01T09:00:00", "end": "2030-01-01T11:00"}
    response = await shared_org.dispatcher.post("/api/v1/orders", json=payload)
    assert response.status_code == 422
    assert "dropoff.time_window.start" in fields_named(response.json())


async def test_order_without_any_stop_is_refused(shared_org: Org) -> None:
    payload = order_payload()
    del payload["dropoff"]
    response = await shared_org.dispatcher.post("/api/v1/orders", json=payload)
    assert response.status_code == 422
    assert "pickup, a dropoff, or both" in response.json()["error"]["message"]


async def test_duplicate_barcode_in_the_organisation_is_409(org: Org, stranger: Org) -> None:
    first = await create_order(org.dispatcher, barcodes=["PARCEL-1"])
    response = await org.dispatcher.post(
        "/api/v1/orders", json=order_payload(barcodes=["PARCEL-1"])
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "duplicate_barcode"
    assert error["details"] == {"barcodes": ["PARCEL-1"]}
    assert "PARCEL-1" in error["message"]
    # Another organisation may use the same label: barcodes are unique per organisation.
    assert (
        await stranger.dispatcher.post("/api/v1/orders", json=order_payload(barcodes=["PARCEL-1"]))
    ).status_code == 201
    assert (await org.dispatcher.get(f"/api/v1/orders/{first['id']}")).json()["barcodes"] == [
        "PARCEL-1"
    ]


async def test_failed_batch_writes_nothing(org: Org) -> None:
    await create_order(org.dispatcher, barcodes=["TAKEN"])
    before = (await org.dispatcher.get("/api/v1/orders")).json()["total"]
    batch = {"orders": [order_payload(), order_payload(), order_payload(barcodes=["TAKEN"])]}
    response = await org.dispatcher.post("/api/v1/orders/batch", json=batch)
    assert response.status_code == 409
    assert (await org.dispatcher.get("/api/v1/orders")).json()["total"] == before
    # The same batch without the clash goes through whole, barcodes and all.
    batch["orders"][2]["barcodes"] = ["FREE"]
    response = await org.dispatcher.post("/api/v1/orders/batch", json=batch)
    assert response.status_code == 201
    assert (await org.dispatcher.get("/api/v1/orders")).json()["total"] == before + 3


async def test_batch_repeating_a_barcode_is_refused_whole(org: Org) -> None:
    batch = {"orders": [order_payload(barcodes=["X1"]), order_payload(barcodes=["X1"])]}
    response = await org.dispatcher.post("/api/v1/orders/batch", json=batch)
    assert response.status_code == 409
    assert (await org.dispatcher.get("/api/v1/orders")).json()["total"] == 0


async def test_invalid_batch_item_names_its_index(org: Org) -> None:
    bad = order_payload()
    bad["dropoff"]["lat"] = 123
    response = await org.dispatcher.post(
        "/api/v1/orders/batch", json={"orders": [order_payload(), bad]}
    )
    assert response.status_code == 422
    assert "orders.1.dropoff.lat" in fields_named(response.json())
    assert (await org.dispatcher.get("/api/v1/orders")).json()["total"] == 0


async def test_assigning_needs_a_driver_of_the_organisation(org: Org, stranger: Org) -> None:
    order = await create_order(org.dispatcher)
    url = f"/api/v1/orders/{order['id']}/transitions"
    response = await org.dispatcher.post(url, json={"to": "assigned"})
    assert response.status_code == 400
    assert "driver_id" in response.json()["error"]["message"]
    foreign = stranger.driver_ids[0]
    response = await org.dispatcher.post(url, json={"to": "assigned", "driver_id": foreign})
    assert response.status_code == 400
    assert (await org.dispatcher.get(f"/api/v1/orders/{order['id']}")).json()["status"] == "created"


async def test_route_refuses_dropoff_before_pickup(org: Org) -> None:
    pickup = {"address": "Shop", "lat": 43.73, "lng": 7.42}
    order = await create_order(org.dispatcher, pickup=pickup)
    stops = {s["kind"]: s["id"] for s in order["stops"]}
    body = {
        "driver_id": org.driver_ids[0],
        "service_date": "2030-05-01",
        "stops": [{"stop_id": stops["dropoff"]}, {"stop_id": stops["pickup"]}],
    }
    response = await org.dispatcher.post("/api/v1/routes", json=body)
    assert response.status_code == 400
    assert "before its pickup" in response.json()["error"]["message"]
    assert (await org.dispatcher.get("/api/v1/routes")).json()["total"] == 0


async def test_stop_cannot_sit_on_two_routes(org: Org) -> None:
    order = await create_order(org.dispatcher)
    body = {
        "driver_id": org.driver_ids[0],
        "service_date": "2030-05-01",
        "stops": [{"stop_id": order["stops"][0]["id"]}],
    }
    assert (await org.dispatcher.post("/api/v1/routes", json=body)).status_code == 201
    body["driver_id"] = org.driver_ids[1]
    response = await org.dispatcher.post("/api/v1/routes", json=body)
    assert response.status_code == 409
    assert "another route" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/api/v1/orders/{2**80}", None),
        ("DELETE", f"/api/v1/vehicles/{2**70}", None),
        ("POST", "/api/v1/dispatch/changes", {"driver_id": 2**90}),
        # year 1 at +00:02 is before year 1 in UTC: out of the calendar
        ("GET", "/api/v1/orders?window_to=0001-01-01T00:00:00%2B00:02", None),
    ],
)
async def test_values_out_of_the_databases_range_are_422_not_a_server_error(
    shared_org: Org, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """Found by schemathesis (tests/backend/test_schema_fuzz.py): the database cannot hold
    such a number (or date), and saying so is the request's problem, not a 500."""
    response = await shared_org.admin.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "out_of_range"
    assert "out of the range the database stores" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("resource", "body", "field"),
    [
        ("vehicles", {"name": None}, "name"),
        ("vehicles", {"skills": None}, "skills"),
        ("vehicles", {"capacity_weight_kg": None}, "capacity_weight_kg"),
        ("drivers", {"name": None}, "name"),
        ("drivers", {"status": None}, "status"),
        ("orders", {"required_proofs": None}, "required_proofs"),
        ("orders", {"dropoff": None}, "dropoff"),
        ("orders", {"notes": None}, "notes"),
    ],
)
async def test_null_for_a_field_that_must_exist_is_422(
    org: Org, resource: str, body: dict[str, Any], field: str
) -> None:
    """Found by schemathesis: a PATCH could blank a required field, and the answer (which
    has no room for a null) was a 500 while the change was never stored."""
    new = {"vehicles": {"name": "Van"}, "drivers": {"name": "Dee"}, "orders": order_payload()}
    created = await org.admin.post(f"/api/v1/{resource}", json=new[resource])
    path = f"/api/v1/{resource}/{created.json()['id']}"
    response = await org.admin.patch(path, json=body)
    assert response.status_code == 422, response.text
    assert field in fields_named(response.json())
    assert "not null" in response.json()["error"]["message"]
    assert (await org.admin.patch(path, json={})).status_code == 200  # left out: unchanged


async def test_the_api_document_says_which_fields_may_not_be_null(shared_org: Org) -> None:
    """Client generators read /openapi.json: a field that may be left out but not blanked
    is not offered as nullable there; one that may be cleared still is."""
    document = (await shared_org.admin.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]

    def nullable(model: str, field: str) -> bool:
        prop = schemas[model]["properties"][field]
        return any(option.get("type") == "null" for option in prop.get("anyOf", [prop]))

    for model, field in [
        ("VehicleUpdate", "name"),
        ("VehicleUpdate", "capacity_weight_kg"),
        ("DriverUpdate", "status"),
        ("OrderUpdate", "recipient_name"),
        ("OrderUpdate", "required_proofs"),
        ("OrderUpdate", "dropoff"),
    ]:
        assert not nullable(model, field), (model, field)
    for model, field in [
        ("VehicleUpdate", "depot_id"),
        ("DriverUpdate", "vehicle_id"),
        ("OrderUpdate", "recipient_email"),
    ]:
        assert nullable(model, field), (model, field)


async def test_a_nul_character_is_never_a_server_error(shared_org: Org) -> None:
    """Found by schemathesis on PostgreSQL, which cannot store a NUL in text (SQLite can):
    refused with a 422 that says so, in a body as in a query."""
    template = {"subject": "Delivered\x00", "email": "{{ reference }}", "sms": "Delivered"}
    for response in (
        await shared_org.admin.put("/api/v1/notifications/templates/delivered/en", json=template),
        await shared_org.admin.get("/api/v1/orders", params={"q": "REF\x00"}),
    ):
        assert response.status_code in (200, 422), response.text
        if response.status_code == 422:
            assert response.json()["error"]["code"] == "invalid_value"
            assert "NUL" in response.json()["error"]["message"]
