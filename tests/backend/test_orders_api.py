"""Orders over HTTP: listing with filters and pages, the timeline, tracking links, errors."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel import col, update

from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.models import TrackingLink
from tests.factories import Org, assign, create_order, order_payload


async def ids(client: httpx.AsyncClient, **params: Any) -> list[int]:
    response = await client.get("/api/v1/orders", params=params)
    assert response.status_code == 200, response.text
    return [o["id"] for o in response.json()["items"]]


async def test_pages_cover_every_order_once(org: Org) -> None:
    created = [
        o["id"]
        for o in (
            await org.dispatcher.post(
                "/api/v1/orders/batch", json={"orders": [order_payload() for _ in range(7)]}
            )
        ).json()
    ]
    seen: list[int] = []
    for offset in range(0, 9, 3):
        page = (
            await org.dispatcher.get(
                "/api/v1/orders", params={"limit": 3, "offset": offset, "sort": "id"}
            )
        ).json()
        assert page["total"] == 7
        assert page["limit"] == 3
        assert page["offset"] == offset
        seen += [o["id"] for o in page["items"]]
    assert seen == created
    assert await ids(org.dispatcher, sort="-id") == created[::-1]


async def test_filters_narrow_the_list(org: Org) -> None:
    soon = await create_order(org.dispatcher, reference="SOON-1", priority=5)
    later_window = order_payload(reference="LATER-1")
    start = datetime.now(UTC) + timedelta(days=2)
    later_window["dropoff"]["time_window"] = {
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
    }
    later = (await org.dispatcher.post("/api/v1/orders", json=later_window)).json()
    assigned = await create_order(org.dispatcher, recipient_name="Zoë Zimmer", barcodes=["ZZ-9"])
    await assign(org.dispatcher, assigned["id"], org.driver_ids[1])

    assert await ids(org.dispatcher, status="assigned") == [assigned["id"]]
    assert sorted(await ids(org.dispatcher, status=["created", "assigned"])) == sorted(
        [soon["id"], later["id"], assigned["id"]]
    )
    assert await ids(org.dispatcher, driver_id=org.driver_ids[1]) == [assigned["id"]]
    assert await ids(org.dispatcher, q="zimmer") == [assigned["id"]]
    assert await ids(org.dispatcher, q="ZZ-9") == [assigned["id"]]
    assert await ids(org.dispatcher, q="SOON") == [soon["id"]]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert await ids(org.dispatcher, window_from=tomorrow) == [later["id"]]
    assert later["id"] not in await ids(org.dispatcher, window_to=tomorrow)
    assert (await ids(org.dispatcher, sort="-priority"))[0] == soon["id"]
    bad = await org.dispatcher.get("/api/v1/orders", params={"status": "lost"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "status.0"


async def test_driver_lists_only_their_own_orders(org: Org) -> None:
    mine = await create_order(org.dispatcher)
    theirs = await create_order(org.dispatcher)
    await assign(org.dispatcher, mine["id"], org.driver_ids[0])
    await assign(org.dispatcher, theirs["id"], org.driver_ids[1])
    assert await ids(org.driver) == [mine["id"]]
    assert (await org.driver.get(f"/api/v1/orders/{theirs['id']}")).status_code == 404


async def test_timeline_records_who_what_when_where(org: Org) -> None:
    order = await create_order(org.dispatcher)
    await assign(org.dispatcher, order["id"], org.driver_ids[0])
    moved = await org.driver.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"to": "en_route", "lat": 43.7401, "lng": 7.4269},
    )
    assert moved.status_code == 200
    await org.dispatcher.patch(f"/api/v1/orders/{order['id']}", json={"instructions": "Back door"})
    events = (await org.dispatcher.get(f"/api/v1/orders/{order['id']}/events")).json()
    assert [(e["kind"], e["to_status"]) for e in events] == [
        ("created", "created"),
        ("status_changed", "assigned"),
        ("status_changed", "en_route"),
        ("updated", None),
    ]
    driver_event = events[2]
    assert driver_event["actor_role"] == "driver"
    assert (driver_event["lat"], driver_event["lng"]) == (43.7401, 7.4269)
    assert events[3]["details"] == {"fields": ["instructions"]}
    times = [datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)


async def test_finished_orders_cannot_be_edited_or_deleted(org: Org) -> None:
    order = await create_order(org.dispatcher)
    url = f"/api/v1/orders/{order['id']}"
    await org.dispatcher.post(f"{url}/transitions", json={"to": "cancelled"})
    edit = await org.dispatcher.patch(url, json={"notes": "too late"})
    assert edit.status_code == 409
    assert "cancelled" in edit.json()["error"]["message"]
    assert (await org.dispatcher.delete(url)).status_code == 204
    gone = await org.dispatcher.get(url)
    assert gone.status_code == 404
    assert gone.json()["error"] == {
        "code": "not_found",
        "message": f"order {order['id']} not found",
        "details": None,
    }


async def test_started_orders_cannot_be_deleted(org: Org) -> None:
    order = await create_order(org.dispatcher)
    await assign(org.dispatcher, order["id"], org.driver_ids[0])
    response = await org.dispatcher.delete(f"/api/v1/orders/{order['id']}")
    assert response.status_code == 409
    assert "'assigned'" in response.json()["error"]["message"]


async def test_error_shapes_for_routing_failures(org: Org) -> None:
    unknown = await org.dispatcher.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    wrong_method = await org.dispatcher.put("/api/v1/orders")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    not_json = await org.dispatcher.post(
        "/api/v1/orders", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    assert not_json.json()["error"]["code"] == "validation_error"


async def test_tracking_link_shows_one_order_without_private_details(
    org: Org, base_url: str, settings: Settings
) -> None:
    order = await create_order(org.dispatcher, instructions="Leave at reception")
    await assign(org.dispatcher, order["id"], org.driver_ids[0])
    link = (
        await org.dispatcher.post(
            f"/api/v1/orders/{order['id']}/tracking-links", json={"ttl_hours": 2}
        )
    ).json()
    assert link["url"] == f"http://track.example.test/t/{link['token']}"
    assert len(link["token"]) >= 32
    async with httpx.AsyncClient(base_url=base_url) as customer:
        view = (await customer.get(f"/api/v1/track/{link['token']}")).json()
        assert view["status"] == "assigned"
        assert view["driver_first_name"] == "Dora"
        assert view["instructions"] == "Leave at reception"
        assert [e["status"] for e in view["timeline"]] == ["created", "assigned"]
        assert "recipient_phone" not in view
        assert "Driver" not in str(view)
        assert (await customer.get(f"/api/v1/orders/{order['id']}")).status_code == 401

        engine = create_engine(settings.resolved_database_url)
        async with session_scope(engine) as session:
            await session.exec(
                update(TrackingLink)
                .where(col(TrackingLink.token) == link["token"])
                .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
            )
        await engine.dispose()
        expired = await customer.get(f"/api/v1/track/{link['token']}")
        assert expired.status_code == 410
        assert "expired" in expired.json()["error"]["message"]
        unknown = await customer.get("/api/v1/track/not-a-token")
        assert unknown.status_code == 404


async def test_a_deleted_orders_id_never_names_another_order(org: Org, stranger: Org) -> None:
    doomed = await create_order(org.dispatcher)
    assert (await org.dispatcher.delete(f"/api/v1/orders/{doomed['id']}")).status_code == 204
    newcomer = await create_order(stranger.dispatcher)
    assert newcomer["id"] > doomed["id"]


async def test_a_stop_may_have_its_own_arrival_radius(org: Org) -> None:
    default = await create_order(org.dispatcher)
    assert default["stops"][0]["arrival_radius_m"] is None  # the server's default applies
    payload = order_payload()
    payload["dropoff"]["arrival_radius_m"] = 60  # a narrow street: arrive at the door
    order = await create_order(org.dispatcher, dropoff=payload["dropoff"])
    assert order["stops"][0]["arrival_radius_m"] == 60
    wider = {**payload["dropoff"], "arrival_radius_m": 400}  # a campus
    edited = await org.dispatcher.patch(f"/api/v1/orders/{order['id']}", json={"dropoff": wider})
    assert edited.status_code == 200, edited.text
    assert edited.json()["stops"][0]["arrival_radius_m"] == 400
    for bad in (0, 5, 5_000, "near"):
        wrong = {**payload["dropoff"], "arrival_radius_m": bad}
        answer = await org.dispatcher.post("/api/v1/orders", json=order_payload(dropoff=wrong))
        assert answer.status_code == 422, bad
        assert "arrival_radius_m" in answer.text
