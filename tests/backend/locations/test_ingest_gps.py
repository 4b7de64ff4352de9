"""Devices and the GPS-app protocols over a real server, sent the way the apps send them."""

import base64
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import Org

MONACO = (43.7384, 7.4246)


def new_identifier(prefix: str = "dev") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def register(org: Org, identifier: str, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"identifier": identifier}
    if secret is not None:
        body["secret"] = secret
    response = await org.dispatcher.post(f"/api/v1/drivers/{org.driver_ids[0]}/devices", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def position(org: Org, driver_id: int) -> dict[str, Any]:
    response = await org.dispatcher.get("/api/v1/fleet/positions")
    assert response.status_code == 200, response.text
    (found,) = [p for p in response.json() if p["driver_id"] == driver_id]
    return dict(found)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- devices ----------------------------------------------------------------------------------


async def test_devices_are_registered_listed_and_removed(org: Org, stranger: Org) -> None:
    identifier = new_identifier()
    device = await register(org, identifier, secret="long-device-secret")
    assert device["has_secret"] is True
    assert "secret" not in device
    assert "secret_hash" not in device
    listed = await org.dispatcher.get(f"/api/v1/drivers/{org.driver_ids[0]}/devices")
    assert [d["identifier"] for d in listed.json()["items"]] == [identifier]

    # Identifiers are global: taken in any organisation is a conflict.
    taken = await stranger.admin.post(
        f"/api/v1/drivers/{stranger.driver_ids[0]}/devices", json={"identifier": identifier}
    )
    assert taken.status_code == 409, taken.text
    # Another organisation's driver does not exist for the stranger; drivers may not manage.
    url = f"/api/v1/drivers/{org.driver_ids[0]}/devices"
    assert (await stranger.admin.post(url, json={"identifier": "x-1"})).status_code == 404
    assert (await stranger.admin.get(url)).status_code == 404
    assert (await org.driver.post(url, json={"identifier": "x-2"})).status_code == 403
    bad = await org.admin.post(url, json={"identifier": "has space", "secret": "short"})
    assert bad.status_code == 422

    # Known (and cached) device, removed: refused from then on.
    fix: dict[str, str | float] = {
        "id": identifier,
        "lat": MONACO[0],
        "lon": MONACO[1],
        "key": "long-device-secret",
    }
    async with httpx.AsyncClient(base_url=str(org.dispatcher.base_url)) as app:
        assert (await app.get("/gps/osmand", params=fix)).status_code == 200
        gone = await org.dispatcher.delete(f"{url}/{device['id']}")
        assert gone.status_code == 204
        assert (await org.dispatcher.delete(f"{url}/{device['id']}")).status_code == 404
        assert (await app.get("/gps/osmand", params=fix)).status_code == 404


# --- OsmAnd / Traccar Client ------------------------------------------------------------------


async def test_osmand_get_and_post(org: Org, base_url: str) -> None:
    identifier = new_identifier("osmand")
    await register(org, identifier, secret="osmand-secret-1")
    now = int(time.time())
    async with httpx.AsyncClient(base_url=base_url) as app:
        response = await app.get(
            "/gps/osmand",
            params={
                "id": identifier,
                "lat": MONACO[0],
                "lon": MONACO[1],
                "timestamp": now - 20,
                "speed": 10,  # knots
                "bearing": 90,
                "accuracy": 8,
                "batt": 64,
                "key": "osmand-secret-1",
            },
        )
        assert response.status_code == 200, response.text
        assert response.content == b""
        seen = await position(org, org.driver_ids[0])
        assert seen["speed_mps"] == pytest.approx(10 * 1852 / 3600)
        assert (seen["heading_deg"], seen["accuracy_m"], seen["battery"]) == (90, 8, 64)

        # Traccar Client: a POST form, timestamp in milliseconds, 'deviceid', 'location'.
        response = await app.post(
            "/gps/osmand",
            data={
                "deviceid": identifier,
                "location": f"{MONACO[0] + 0.0005},{MONACO[1]}",
                "timestamp": str((now - 10) * 1000),
                "speed": "2",
                "key": "osmand-secret-1",
            },
        )
        assert response.status_code == 200, response.text
        seen = await position(org, org.driver_ids[0])
        assert seen["lat"] == pytest.approx(MONACO[0] + 0.0005)
        assert seen["speed_mps"] == pytest.approx(2 * 1852 / 3600)
        recorded = datetime.fromisoformat(seen["recorded_at"])
        assert recorded == datetime.fromtimestamp(now - 10, UTC)

        # The Traccar Client's JSON body.
        response = await app.post(
            "/gps/osmand",
            json={
                "device_id": identifier,
                "key": "osmand-secret-1",
                "location": {
                    "timestamp": datetime.fromtimestamp(now - 5, UTC).isoformat(),
                    "coords": {"latitude": MONACO[0] + 0.001, "longitude": MONACO[1], "speed": 3},
                    "battery": {"level": 0.5},
                },
            },
        )
        assert response.status_code == 200, response.text
        seen = await position(org, org.driver_ids[0])
        assert (seen["speed_mps"], seen["battery"]) == (3, 50)


async def test_osmand_refusals(org: Org, base_url: str) -> None:
    identifier = new_identifier("osmand")
    await register(org, identifier, secret="osmand-secret-2")
    good: dict[str, str | float] = {"id": identifier, "lat": MONACO[0], "lon": MONACO[1]}
    async with httpx.AsyncClient(base_url=base_url) as app:
        unknown = await app.get("/gps/osmand", params={**good, "id": new_identifier()})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "unknown_device"
        assert (await app.get("/gps/osmand", params=good)).status_code == 401
        wrong = await app.get("/gps/osmand", params={**good, "key": "not-the-secret"})
        assert wrong.status_code == 401
        for bad, field in (
            ({**good, "lat": "north"}, "lat"),
            ({**good, "lon": "200"}, "lon"),
            ({**good, "timestamp": "tomorrow-ish"}, "timestamp"),
            ({"lat": "1", "lon": "2"}, "id"),
        ):
            response = await app.get("/gps/osmand", params=bad)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["message"].startswith(field)
        broken = await app.post(
            "/gps/osmand", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400
        huge = await app.post("/gps/osmand", content=b"x" * (1024 * 1024 + 1))
        assert huge.status_code == 413


# --- OwnTracks --------------------------------------------------------------------------------


async def test_owntracks_basic_auth_and_x_limit_u(org: Org, base_url: str) -> None:
    identifier = new_identifier("ot")
    await register(org, identifier, secret="owntracks-pass")
    message = {
        "_type": "location",
        "lat": MONACO[0],
        "lon": MONACO[1],
        "tst": int(time.time()) - 5,
        "acc": 10,
        "vel": 36,  # km/h
        "cog": 180,
        "batt": 81,
        "tid": "dd",
    }
    headers = {"X-Limit-U": identifier, "Authorization": basic(identifier, "owntracks-pass")}
    async with httpx.AsyncClient(base_url=base_url) as app:
        response = await app.post("/gps/owntracks", json=message, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == []
        seen = await position(org, org.driver_ids[0])
        assert seen["speed_mps"] == pytest.approx(10)
        assert (seen["heading_deg"], seen["battery"], seen["accuracy_m"]) == (180, 81, 10)

        other = {"_type": "transition", "event": "enter", "tid": "dd"}
        assert (await app.post("/gps/owntracks", json=other, headers=headers)).json() == []
        # The user as ?u= and the Basic user work too.
        by_query = await app.post(
            "/gps/owntracks",
            params={"u": identifier},
            json=other,
            headers={"Authorization": basic("someone", "owntracks-pass")},
        )
        assert by_query.status_code == 200
        wrong = await app.post(
            "/gps/owntracks", json=message, headers={**headers, "Authorization": basic("a", "b")}
        )
        assert wrong.status_code == 401
        unknown = await app.post("/gps/owntracks", json={**message, "tid": new_identifier()})
        assert unknown.status_code == 404
        for raw in (b"{not json", b"[]", b'{"_type": "location", "lat": 1, "lon": 2}'):
            response = await app.post("/gps/owntracks", content=raw, headers=headers)
            assert response.status_code == 400, response.text


async def test_owntracks_device_without_secret_named_by_tid(org: Org, base_url: str) -> None:
    tid = uuid.uuid4().hex[:8]
    await register(org, tid)
    message = {"_type": "location", "lat": 43.73, "lon": 7.42, "tst": int(time.time()), "tid": tid}
    async with httpx.AsyncClient(base_url=base_url) as app:
        response = await app.post("/gps/owntracks", json=message)
        assert (response.status_code, response.json()) == (200, [])
    assert (await position(org, org.driver_ids[0]))["lat"] == pytest.approx(43.73)


# --- Overland ---------------------------------------------------------------------------------


def feature(lon: float, lat: float, at: float, **properties: Any) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"timestamp": stamp, **properties},
    }


async def test_overland_batch(org: Org, base_url: str) -> None:
    identifier = new_identifier("overland")
    await register(org, identifier, secret="overland-token")
    now = time.time()
    batch = {
        "device_id": identifier,
        "locations": [
            feature(MONACO[1], MONACO[0], now - 30, speed=5, horizontal_accuracy=5),
            feature(MONACO[1], 95.0, now - 25),  # unreadable: listed, not fatal
            feature(MONACO[1] + 0.0004, MONACO[0], now - 20, speed=6, battery_level=0.7),
        ],
    }
    async with httpx.AsyncClient(base_url=base_url) as app:
        response = await app.post(
            "/gps/overland", json=batch, headers={"Authorization": "Bearer overland-token"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["result"] == "ok"
        assert body["accepted"] == 2
        assert [r["index"] for r in body["rejected"]] == [1]
        seen = await position(org, org.driver_ids[0])
        assert (seen["speed_mps"], seen["battery"]) == (6, pytest.approx(70))

        by_query = await app.post(
            "/gps/overland", params={"token": "overland-token"}, json={"locations": []}
        )
        assert by_query.json()["result"] == "ok"
        wrong = await app.post("/gps/overland", params={"token": "nope"}, json=batch)
        assert wrong.status_code == 401
        unknown = await app.post("/gps/overland", json={**batch, "device_id": new_identifier()})
        assert unknown.status_code == 404
        for raw in (b"[1,2", b'{"locations": 5}', b"[]"):
            response = await app.post(
                "/gps/overland", content=raw, headers={"content-type": "application/json"}
            )
            assert response.status_code == 400, response.text


async def test_a_device_shows_when_it_was_last_heard_from(base_url: str, org: Org) -> None:
    identifier = new_identifier()
    await register(org, identifier, secret="long-device-secret")
    url = f"/api/v1/drivers/{org.driver_ids[0]}/devices"

    async def last_seen() -> str | None:
        listed = await org.dispatcher.get(url)
        assert listed.status_code == 200, listed.text
        (device,) = listed.json()["items"]
        seen: str | None = device["last_seen_at"]
        return seen

    assert await last_seen() is None
    async with httpx.AsyncClient(base_url=base_url) as app:
        query: dict[str, str | float] = {
            "id": identifier,
            "lat": MONACO[0],
            "lon": MONACO[1],
            "timestamp": time.time(),
        }
        wrong = await app.get("/gps/osmand", params={**query, "key": "not-the-secret"})
        assert wrong.status_code == 401
        assert await last_seen() is None  # a refused request is not the device talking

        before = datetime.now(UTC)
        sent = await app.get("/gps/osmand", params={**query, "key": "long-device-secret"})
        assert sent.status_code == 200, sent.text
    seen = await last_seen()
    assert seen is not None
    seen_at = datetime.fromisoformat(seen)
    assert before - timedelta(seconds=1) <= seen_at <= datetime.now(UTC)
