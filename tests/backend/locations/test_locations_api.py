"""The location endpoints over real HTTP: the app's batch, positions, history, exports."""

import json
import math
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.factories import Org, assign, create_order


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


def fix(t: float, lat: float = 43.7300, lng: float = 7.4200, **kw: Any) -> dict[str, Any]:
    return {"lat": lat, "lng": lng, "recorded_at": iso(t), **kw}


async def post(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.post("/api/v1/drivers/me/locations", json=body)


async def test_mixed_batch_keeps_good_fixes_and_names_each_rejection(org: Org) -> None:
    now = time.time()
    batch: list[Any] = [
        fix(now - 10, speed_mps=5.0, accuracy_m=8.0, battery=80),
        fix(now - 9, lat=95.0),  # invalid (schema)
        {"lat": 43.73, "recorded_at": iso(now - 8)},  # lng missing
        fix(now - 7, lat=0.0, lng=0.0),
        fix(now - 6, accuracy_m=5000),
        fix(now + 3600),
        fix(now - 30 * 86_400),
        fix(now - 5, lat=43.80),  # 7.8 km in 5 s
        fix(now - 10),  # same time as the first
        fix(now - 4, lat=43.7301),
        "not a fix",
    ]
    response = await post(org.driver, batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2
    got = {r["index"]: r["reason"] for r in body["rejected"]}
    assert got == {
        1: "invalid",
        2: "invalid",
        3: "zero",
        4: "poor_accuracy",
        5: "future",
        6: "too_old",
        7: "impossible_speed",
        8: "duplicate",
        10: "invalid",
    }
    messages = {r["index"]: r["message"] for r in body["rejected"]}
    assert "lat" in messages[1]
    assert "lng" in messages[2]


async def test_nan_items_are_rejections_not_a_failed_batch(org: Org) -> None:
    now = time.time()
    raw = json.dumps([fix(now - 2), fix(now - 1)]).replace("43.73", "NaN", 1)
    response = await org.driver.post(
        "/api/v1/drivers/me/locations",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    assert response.json()["rejected"][0]["index"] == 0


async def test_bodies_that_are_not_batches_are_4xx_naming_the_problem(org: Org) -> None:
    now = time.time()
    cases: list[tuple[bytes, int, str]] = [
        (b"{not json", 422, "JSON"),
        (b'"a string"', 422, "array"),
        (json.dumps([fix(now - 1)] * 501).encode(), 413, "500"),
        (b"[" + b" " * (1 << 20) + b"]", 413, "1 MiB"),
    ]
    for raw, status, words in cases:
        response = await org.driver.post(
            "/api/v1/drivers/me/locations",
            content=raw,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == status, response.text
        assert words in response.json()["error"]["message"]
    one = await post(org.driver, fix(now - 1))  # a single object is a batch of one
    assert one.json()["accepted"] == 1
    wrapped = await post(org.driver, {"fixes": [fix(now - 0.5)]})
    assert wrapped.json()["accepted"] == 1


async def test_positions_show_the_newest_fix_and_ignore_a_replay(org: Org) -> None:
    now = time.time()
    await post(org.driver, [fix(now - 20), fix(now - 10, lat=43.7302, battery=55)])
    replay = await post(org.driver, [fix(now - 100 + i, lat=43.729) for i in range(5)])
    assert replay.json()["history_only"] == 5
    await post(org.driver2, [fix(now - 3, lat=43.74)])
    response = await org.dispatcher.get("/api/v1/fleet/positions")
    assert response.status_code == 200
    positions = {p["driver_id"]: p for p in response.json()}
    assert set(positions) == set(org.driver_ids)
    mine = positions[org.driver_ids[0]]
    assert (mine["lat"], mine["battery"]) == (43.7302, 55)
    assert 9 <= mine["age_s"] < 60


async def test_history_range_and_paging(org: Org) -> None:
    now = time.time()
    await post(org.driver, [fix(now - 60 + i, lat=43.73 + i * 1e-5) for i in range(30)])
    driver_id = org.driver_ids[0]
    url = f"/api/v1/drivers/{driver_id}/locations"
    params = {"from": iso(now - 50), "to": iso(now - 40)}
    page = (await org.dispatcher.get(url, params={**params, "limit": 4})).json()
    assert page["total"] == 10
    assert len(page["items"]) == 4
    rest = (await org.dispatcher.get(url, params={**params, "limit": 10, "offset": 4})).json()
    times = [i["recorded_at"] for i in page["items"] + rest["items"]]
    assert times == sorted(times)
    assert len(times) == 10
    other = await org.dispatcher.get(f"/api/v1/drivers/{org.driver_ids[1]}/locations")
    assert other.json()["total"] == 0
    backwards = await org.dispatcher.get(url, params={"from": params["to"], "to": params["from"]})
    assert backwards.status_code == 400


async def test_day_exports_as_gpx_and_geojson(org: Org) -> None:
    # Two fixes in the last seconds of yesterday (UTC, the server's day): past, and on one
    # day, whatever the hour. (At 00:00:01 and 00:00:02 of today, they are not past yet in
    # the first seconds after midnight; the test failed then.)
    today = datetime.now(UTC).date()
    day = today - timedelta(days=1)
    midnight = datetime.combine(today, datetime.min.time(), UTC).timestamp()
    times = [midnight - 2, midnight - 1]
    await post(org.driver, [fix(t, altitude_m=30.5 + i) for i, t in enumerate(times)])
    driver_id = org.driver_ids[0]
    gpx = await org.dispatcher.get(
        f"/api/v1/drivers/{driver_id}/locations.gpx", params={"date": day.isoformat()}
    )
    assert gpx.status_code == 200
    assert gpx.headers["content-type"].startswith("application/gpx")
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    root = ET.fromstring(gpx.content)
    assert root.get("version") == "1.1"
    points = root.findall("g:trk/g:trkseg/g:trkpt", ns)
    assert len(points) == 2
    assert float(points[0].get("lat", "nan")) == 43.73
    assert points[0].findtext("g:ele", namespaces=ns) == "30.5"
    assert points[0].findtext("g:time", namespaces=ns, default="").endswith("Z")
    geo = await org.dispatcher.get(
        f"/api/v1/drivers/{driver_id}/locations.geojson", params={"date": day.isoformat()}
    )
    assert geo.headers["content-type"].startswith("application/geo+json")
    feature = geo.json()
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] == "LineString"
    assert feature["geometry"]["coordinates"][0] == [7.42, 43.73, 30.5]
    assert len(feature["properties"]["coordTimes"]) == 2
    # The next day starts at midnight: the fix a second before it is not on it.
    empty = await org.dispatcher.get(
        f"/api/v1/drivers/{driver_id}/locations.geojson", params={"date": today.isoformat()}
    )
    assert empty.json()["geometry"] is None


async def test_metrics_count_rejections_by_reason(org: Org) -> None:
    before = (await org.admin.get("/api/v1/fleet/metrics")).json()
    await post(org.driver, [fix(time.time(), lat=0.0, lng=0.0)])
    after = (await org.admin.get("/api/v1/fleet/metrics")).json()
    assert after["rejected_zero"] == before.get("rejected_zero", 0) + 1
    assert not math.isnan(after["fixes_received"])


async def test_deleting_a_driver_takes_their_devices_and_location_history(org: Org) -> None:
    created = await org.admin.post("/api/v1/drivers", json={"name": "Temp Driver"})
    assert created.status_code == 201, created.text
    driver_id = created.json()["id"]
    identifier = f"temp-{driver_id}-{int(time.time())}"
    device = await org.admin.post(
        f"/api/v1/drivers/{driver_id}/devices", json={"identifier": identifier}
    )
    assert device.status_code == 201, device.text
    async with httpx.AsyncClient(base_url=str(org.admin.base_url)) as app:
        sent = await app.get(
            "/gps/osmand",
            params={"id": identifier, "lat": 43.7301, "lon": 7.4201, "timestamp": time.time()},
        )
        assert sent.status_code == 200, sent.text
    positions = (await org.dispatcher.get("/api/v1/fleet/positions")).json()
    assert driver_id in [p["driver_id"] for p in positions]

    deleted = await org.admin.delete(f"/api/v1/drivers/{driver_id}")
    assert deleted.status_code == 204, deleted.text

    positions = (await org.dispatcher.get("/api/v1/fleet/positions")).json()
    assert driver_id not in [p["driver_id"] for p in positions]
    history = await org.dispatcher.get(f"/api/v1/drivers/{driver_id}/locations")
    assert history.status_code == 404
    # the identifier is free again, and the app's fixes are refused until it is re-bound
    async with httpx.AsyncClient(base_url=str(org.admin.base_url)) as app:
        refused = await app.get(
            "/gps/osmand",
            params={"id": identifier, "lat": 43.7302, "lon": 7.4202, "timestamp": time.time()},
        )
        assert refused.status_code == 404, refused.text
    again = await org.admin.post(
        f"/api/v1/drivers/{org.driver_ids[1]}/devices", json={"identifier": identifier}
    )
    assert again.status_code == 201, again.text


async def test_a_driver_with_finished_orders_is_kept_with_a_reason(org: Org) -> None:
    order = await create_order(org.dispatcher)
    await assign(org.dispatcher, order["id"], org.driver_ids[1])
    has_pickup = any(s["kind"] == "pickup" for s in order["stops"])
    path = ["en_route_to_pickup", "picked_up"] if has_pickup else []
    for status in [*path, "en_route", "delivered"]:
        moved = await org.dispatcher.post(
            f"/api/v1/orders/{order['id']}/transitions", json={"to": status}
        )
        assert moved.status_code == 200, moved.text
    refused = await org.admin.delete(f"/api/v1/drivers/{org.driver_ids[1]}")
    assert refused.status_code == 409, refused.text
    assert "finished order" in refused.json()["error"]["message"]
