"""What the tracking page reads beyond status and timeline, over a real server: the brand,
the map, the driver's stops before you, what may still change, the proof after delivery,
the rating, and links that stop working some time after the order is finished."""

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from PIL import Image

from tests.backend.optimization.test_dispatch_api import route_with
from tests.backend.pod.test_pod_api import en_route_order, jpeg, send_pod
from tests.factories import Org, create_order

MONACO = [(43.7311, 7.4197), (43.7335, 7.4215), (43.7362, 7.4240), (43.7390, 7.4262)]


async def link_for(org: Org, order_id: int) -> str:
    response = await org.dispatcher.post(f"/api/v1/orders/{order_id}/tracking-links", json={})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def view(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/track/{token}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_brand_and_map_come_from_the_organisation_and_settings(
    org: Org, base_url: str
) -> None:
    order = await create_order(org.dispatcher)
    token = await link_for(org, order["id"])
    async with httpx.AsyncClient(base_url=base_url) as customer:
        first = await view(customer, token)
        assert (
            first["brand"]["name"] == (await org.admin.get("/api/v1/organization")).json()["name"]
        )
        assert first["brand"]["logo_url"] is None
        assert first["map"]["tile_url"] == "/tiles/{z}/{x}/{y}.png"
        assert "OpenStreetMap" in first["map"]["attribution"]

        changed = await org.admin.patch(
            "/api/v1/organization",
            json={"brand_colour": "#FFD400", "logo_url": "https://shop.example/logo.svg"},
        )
        assert changed.status_code == 200, changed.text
        brand = (await view(customer, token))["brand"]
        assert brand == {
            "name": first["brand"]["name"],
            "colour": "#FFD400",
            "text_colour": "#000000",  # black reads on yellow
            "logo_url": "https://shop.example/logo.svg",
        }
    for bad, field in (
        ({"brand_colour": "yellow"}, "brand_colour"),
        ({"logo_url": "x.png"}, "logo_url"),
    ):
        refused = await org.admin.patch("/api/v1/organization", json=bad)
        assert refused.status_code == 422
        assert field in refused.text
    assert (
        await org.dispatcher.patch("/api/v1/organization", json={"brand_colour": "#000000"})
    ).status_code == 403


async def test_the_customer_learns_how_many_stops_come_before_theirs(
    org: Org, base_url: str
) -> None:
    _, stop_ids = await route_with(org, org.driver_ids[0], MONACO, "published")
    orders = (await org.dispatcher.get("/api/v1/orders", params={"limit": 500})).json()["items"]
    order_of = {s["id"]: o["id"] for o in orders for s in o["stops"]}
    last = order_of[stop_ids[-1]]
    token = await link_for(org, last)
    async with httpx.AsyncClient(base_url=base_url) as customer:
        assert (await view(customer, token))["stops_before"] == 3
        first = order_of[stop_ids[0]]
        moved = await org.driver.post(
            f"/api/v1/orders/{first}/transitions", json={"to": "en_route"}
        )
        assert moved.status_code == 200, moved.text
        delivered = await send_pod(org.driver, first)
        assert delivered.status_code == 201, delivered.text
        assert (await view(customer, token))["stops_before"] == 2
        unplanned = await create_order(org.dispatcher)
        assert (await view(customer, await link_for(org, unplanned["id"])))["stops_before"] is None


async def test_what_the_customer_may_still_change_and_why_not(org: Org, base_url: str) -> None:
    order = await create_order(org.dispatcher)
    token = await link_for(org, order["id"])
    async with httpx.AsyncClient(base_url=base_url) as customer:
        before = await view(customer, token)
        assert (before["can_change_instructions"], before["can_change_window"]) == (True, True)
        assert before["window_change_refusal"] is None
        en_route = await en_route_order(org)
        during = await view(customer, await link_for(org, en_route))
        assert during["can_change_instructions"] is True  # becomes a request to dispatch
        assert during["can_change_window"] is False
        assert "on the way" in during["window_change_refusal"]


async def test_after_delivery_the_proof_summary_the_photo_if_allowed_and_one_rating(
    org: Org, base_url: str
) -> None:
    order_id = await en_route_order(org)
    token = await link_for(org, order_id)
    async with httpx.AsyncClient(base_url=base_url) as customer:
        early = await customer.post(f"/api/v1/track/{token}/rating", json={"stars": 5})
        assert early.status_code == 409
        assert "once delivered" in early.json()["error"]["message"]
        photo = jpeg(colour="orange")
        sent = await send_pod(org.driver, order_id, [photo], recipient_name="Rita")
        assert sent.status_code == 201, sent.text

        done = await view(customer, token)
        assert done["proof"]["received_by"] == "Rita"
        assert done["proof"]["safe_place"] is False
        assert datetime.fromisoformat(done["proof"]["delivered_at"]) > datetime.now(
            UTC
        ) - timedelta(minutes=1)
        assert done["proof"]["photo_url"] is None  # the organisation does not show photos
        assert (await customer.get(f"/api/v1/track/{token}/proof/photo")).status_code == 404
        assert done["eta"] is None
        assert done["delivery_pin"] is None
        assert (done["can_rate"], done["rating"]) == (True, None)

        shown = await org.admin.patch("/api/v1/organization", json={"show_proof_photo": True})
        assert shown.status_code == 200
        url = (await view(customer, token))["proof"]["photo_url"]
        assert url == f"/api/v1/track/{token}/proof/photo"
        got = await customer.get(url)
        assert got.status_code == 200
        assert got.headers["content-type"] == "image/jpeg"
        small = Image.open(io.BytesIO(got.content))
        assert max(small.size) <= 640
        assert not small.getexif().get_ifd(0x8825)  # no GPS block

        for bad in ({"stars": 0}, {"stars": 6}, {"stars": 3, "comment": "x" * 501}):
            assert (
                await customer.post(f"/api/v1/track/{token}/rating", json=bad)
            ).status_code == 422
        rated = await customer.post(
            f"/api/v1/track/{token}/rating", json={"stars": 4, "comment": " Quick,  kind "}
        )
        assert rated.status_code == 201, rated.text
        assert (rated.json()["stars"], rated.json()["comment"]) == (4, "Quick, kind")
        after = await view(customer, token)
        assert (after["can_rate"], after["rating"]["stars"]) == (False, 4)
        again = await customer.post(f"/api/v1/track/{token}/rating", json={"stars": 1})
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "already_rated"
    events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
    assert events[-1]["kind"] == "rated"
    assert events[-1]["details"]["stars"] == 4


async def test_links_stop_working_the_set_time_after_the_order_is_finished(
    org: Org, base_url: str
) -> None:
    order_id = await en_route_order(org)
    token = await link_for(org, order_id)
    created = (await org.dispatcher.get(f"/api/v1/track/{token}")).json()["expires_at"]
    async with httpx.AsyncClient(base_url=base_url) as customer:
        assert (
            await org.admin.patch("/api/v1/organization", json={"tracking_hours_after_delivery": 2})
        ).status_code == 200
        assert (await send_pod(org.driver, order_id)).status_code == 201
        ends = datetime.fromisoformat((await view(customer, token))["expires_at"])
        assert ends < datetime.fromisoformat(created)
        assert abs(ends - (datetime.now(UTC) + timedelta(hours=2))) < timedelta(minutes=1)

        other = await en_route_order(org)
        other_token = await link_for(org, other)
        await org.admin.patch("/api/v1/organization", json={"tracking_hours_after_delivery": 0})
        assert (await send_pod(org.driver, other)).status_code == 201
        gone = await customer.get(f"/api/v1/track/{other_token}")
        assert gone.status_code == 410
        assert gone.json()["error"]["code"] == "link_expired"
