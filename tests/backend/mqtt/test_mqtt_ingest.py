"""MQTT ingest for real: Debian's mosquitto with the sample ACL, a backend subscribed to it,
devices publishing with a real MQTT client (aiomqtt), and what a dispatcher sees."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import orjson
import pytest

from backend.config import Settings
from tests.backend.locations.test_fanout_sockets import access_token, frames_until, live, ws_url
from tests.conftest import make_settings
from tests.factories import Org, create_org_with_users, login
from tests.live_server import run_server
from tests.mosquitto_server import Mosquitto, run_mosquitto

MONACO = (43.7384, 7.4246)


@pytest.fixture(scope="module")
def mqtt_settings(tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto) -> Settings:
    return make_settings(
        tmp_path_factory.mktemp("mqtt"),
        mqtt_url=mosquitto.url(),
        mqtt_client_id=f"lastmile-test-{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture(scope="module")
def mqtt_backend(mqtt_settings: Settings) -> Iterator[str]:
    with run_server(mqtt_settings) as url:
        yield url


async def new_org(settings: Settings, base_url: str) -> Org:
    org_id, slug, emails, driver_ids = await create_org_with_users(settings)
    clients = {role: await login(base_url, email) for role, email in emails.items()}
    return Org(org_id, slug, emails, driver_ids, clients)


@pytest.fixture
async def mqtt_org(mqtt_settings: Settings, mqtt_backend: str) -> AsyncIterator[Org]:
    org = await new_org(mqtt_settings, mqtt_backend)
    await until_subscribed(org.admin)
    yield org
    for client in org.clients.values():
        await client.aclose()


def good_fix(start: float, i: int) -> dict[str, Any]:
    """Fix ``i`` of a run one a second from ``start`` (epoch seconds), a metre apart: every
    one is a good fix."""
    return {
        "lat": MONACO[0] + i * 1e-5,
        "lng": MONACO[1],
        "recorded_at": datetime.fromtimestamp(start + i, UTC).isoformat(),
        "accuracy_m": 5,
    }


def device_name(prefix: str = "dev") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def register(org: Org, driver_id: int, identifier: str) -> None:
    response = await org.dispatcher.post(
        f"/api/v1/drivers/{driver_id}/devices", json={"identifier": identifier}
    )
    assert response.status_code == 201, response.text


async def counters(client: httpx.AsyncClient) -> dict[str, float]:
    """``/metrics`` samples as ``name{labels}`` -> value."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    found: dict[str, float] = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def dropped(metrics: dict[str, float], reason: str) -> float:
    return metrics.get(f'lastmile_mqtt_dropped_total{{reason="{reason}"}}', 0.0)


async def until_subscribed(client: httpx.AsyncClient, within_s: float = 15) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        metrics = await counters(client)
        if metrics.get('lastmile_pipeline_events_total{name="mqtt_connections"}', 0) >= 1:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the backend did not subscribe to the broker")


@asynccontextmanager
async def device(broker: Mosquitto, user: str) -> AsyncIterator[aiomqtt.Client]:
    """A device's MQTT connection, as its own broker user."""
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, username=user, password=f"{user}-secret", identifier=user
    ) as client:
        yield client


def app_fix(lat: float, lng: float, age_s: float = 5.0) -> dict[str, Any]:
    stamp = datetime.now(UTC) - timedelta(seconds=age_s)
    return {"lat": lat, "lng": lng, "recorded_at": stamp.isoformat(), "accuracy_m": 8}


async def history(client: httpx.AsyncClient, driver_id: int) -> list[dict[str, Any]]:
    start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = await client.get(
        f"/api/v1/drivers/{driver_id}/locations", params={"from": start, "limit": 5000}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def history_reaches(
    client: httpx.AsyncClient, driver_id: int, count: int, within_s: float = 10
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within_s
    while True:
        items = await history(client, driver_id)
        if len(items) >= count or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.1)


async def test_app_and_owntracks_messages_reach_the_dispatcher_and_the_history(
    mosquitto: Mosquitto, mqtt_backend: str, mqtt_org: Org
) -> None:
    org = mqtt_org
    van, phone_user, phone = device_name("van"), device_name("ot"), "pixel"
    await register(org, org.driver_ids[0], van)
    await register(org, org.driver_ids[1], f"{phone_user}:{phone}")
    mosquitto.add_user(van)
    mosquitto.add_user(phone_user)
    token = await access_token(org.dispatcher)
    async with live(ws_url(mqtt_backend, f"/api/v1/fleet/ws?token={token}")) as fleet:
        batch = [app_fix(43.7380, 7.4240, age_s=20), app_fix(43.7384, 7.4246, age_s=10)]
        async with device(mosquitto, van) as client:
            await client.publish(
                f"lastmile/{org.slug}/drivers/{van}/locations", orjson.dumps(batch), qos=1
            )
        frame = await frames_until(
            fleet, "positions", 5, lambda f: f["positions"][0]["driver_id"] == org.driver_ids[0]
        )
        assert (frame["positions"][0]["lat"], frame["positions"][0]["lng"]) == MONACO

        owntracks = {
            "_type": "location",
            "lat": 43.7311,
            "lon": 7.4197,
            "tst": int(time.time()) - 5,
            "acc": 12,
            "vel": 36,
            "batt": 80,
            "tid": "px",
        }
        async with device(mosquitto, phone_user) as client:
            await client.publish(f"owntracks/{phone_user}/{phone}", orjson.dumps(owntracks), qos=1)
        frame = await frames_until(
            fleet, "positions", 5, lambda f: f["positions"][0]["driver_id"] == org.driver_ids[1]
        )
        assert (frame["positions"][0]["lat"], frame["positions"][0]["lng"]) == (43.7311, 7.4197)

    van_history = await history_reaches(org.dispatcher, org.driver_ids[0], 2)
    assert [(f["lat"], f["lng"], f["source"]) for f in van_history] == [
        (43.7380, 7.4240, "app"),
        (*MONACO, "app"),
    ]
    (phone_fix,) = await history_reaches(org.dispatcher, org.driver_ids[1], 1)
    assert phone_fix["source"] == "owntracks"
    assert phone_fix["speed_mps"] == pytest.approx(10.0)  # 36 km/h
    assert phone_fix["battery"] == 80


async def test_bad_messages_are_dropped_counted_and_the_subscriber_goes_on(
    mosquitto: Mosquitto, mqtt_backend: str, mqtt_org: Org, mqtt_settings: Settings
) -> None:
    org = mqtt_org
    other = await new_org(mqtt_settings, mqtt_backend)
    van, ghost = device_name("van"), device_name("ghost")
    await register(org, org.driver_ids[0], van)
    for user in (van, ghost):
        mosquitto.add_user(user)
    before = await counters(org.admin)
    good = orjson.dumps([app_fix(*MONACO)])
    async with device(mosquitto, ghost) as client:  # a broker account, no Lastmile device
        await client.publish(f"lastmile/{org.slug}/drivers/{ghost}/locations", good, qos=1)
    async with device(mosquitto, van) as client:
        topic = f"lastmile/{org.slug}/drivers/{van}/locations"
        for garbage in (b"{not json", b'"a string"', b'[{"lat": 999, "lng": 7}]', b"\xff\xfe"):
            await client.publish(topic, garbage, qos=1)
        # Its own device topic, but under another organisation's slug.
        await client.publish(f"lastmile/{other.slug}/drivers/{van}/locations", good, qos=1)
        await client.publish(topic, good, qos=1)  # and then a good one: still served

    (stored,) = await history_reaches(org.dispatcher, org.driver_ids[0], 1)
    assert (stored["lat"], stored["lng"]) == MONACO
    after = await counters(org.admin)
    assert dropped(after, "unknown_device") - dropped(before, "unknown_device") == 1
    assert dropped(after, "malformed") - dropped(before, "malformed") == 4
    assert dropped(after, "org_mismatch") - dropped(before, "org_mismatch") == 1
    assert await history(other.dispatcher, other.driver_ids[0]) == []
    for http in other.clients.values():
        await http.aclose()


async def test_the_sample_acl_refuses_a_device_publishing_to_another_devices_topic(
    mosquitto: Mosquitto, mqtt_backend: str, mqtt_org: Org
) -> None:
    org = mqtt_org
    mine, theirs = device_name("mine"), device_name("theirs")
    await register(org, org.driver_ids[0], mine)
    await register(org, org.driver_ids[1], theirs)
    mosquitto.add_user(mine)
    async with device(mosquitto, mine) as client:
        fix = orjson.dumps([app_fix(*MONACO)])
        await client.publish(f"lastmile/{org.slug}/drivers/{theirs}/locations", fix, qos=1)
        await client.publish(f"owntracks/{theirs}/phone", b'{"_type": "location"}', qos=1)
        await client.publish(f"lastmile/{org.slug}/drivers/{mine}/locations", fix, qos=1)
    # Its own topic got through (after the refused ones, on the same connection) ...
    assert len(await history_reaches(org.dispatcher, org.driver_ids[0], 1)) == 1
    # ... the other device's never reached the backend.
    assert await history(org.dispatcher, org.driver_ids[1]) == []


async def test_a_backend_restart_mid_stream_loses_nothing_and_stores_each_fix_once(
    tmp_path: Path,
) -> None:
    count = 150
    with run_mosquitto() as broker:
        settings = make_settings(tmp_path, mqtt_url=broker.url(), mqtt_client_id="restart-test")
        van = device_name("van")
        broker.add_user(van)
        start = time.time() - 600
        third, two_thirds = asyncio.Event(), asyncio.Event()

        async def publish_all(pace_s: float) -> None:
            topic = f"lastmile/{slug}/drivers/{van}/locations"
            async with device(broker, van) as client:
                for i in range(count):
                    await client.publish(topic, orjson.dumps([good_fix(start, i)]), qos=1)
                    if i + 1 == count // 3:
                        third.set()
                    if i + 1 == 2 * count // 3:
                        two_thirds.set()
                    await asyncio.sleep(pace_s)

        first = run_server(settings)
        base_url = await asyncio.to_thread(first.__enter__)
        try:
            _, slug, emails, driver_ids = await create_org_with_users(settings)  # migrated
            dispatcher = await login(base_url, emails["dispatcher"])
            await register(
                Org(0, slug, emails, driver_ids, {"dispatcher": dispatcher}), driver_ids[0], van
            )
            await until_subscribed(dispatcher)
            publisher = asyncio.create_task(publish_all(pace_s=0.01))
            await third.wait()
        finally:
            await asyncio.to_thread(first.__exit__, None, None, None)  # graceful stop
        await dispatcher.aclose()
        await two_thirds.wait()  # these wait in the broker, in the backend's session
        with run_server(settings) as base_url:
            dispatcher = await login(base_url, emails["dispatcher"])
            await publisher
            items = await history_reaches(dispatcher, driver_ids[0], count, within_s=20)
            await asyncio.sleep(0.5)  # nothing more arrives (no duplicate)
            items = await history(dispatcher, driver_ids[0])
            await dispatcher.aclose()
        recorded = [f["recorded_at"] for f in items]
        assert len(recorded) == count
        assert len(set(recorded)) == count


async def test_the_subscriber_reconnects_when_the_broker_comes_back(tmp_path: Path) -> None:
    with run_mosquitto() as broker:
        settings = make_settings(tmp_path, mqtt_url=broker.url(), mqtt_client_id="reconnect")
        van = device_name("van")
        broker.add_user(van)
        with run_server(settings) as base_url:
            _, slug, emails, driver_ids = await create_org_with_users(settings)
            dispatcher = await login(base_url, emails["dispatcher"])
            await register(
                Org(0, slug, emails, driver_ids, {"dispatcher": dispatcher}), driver_ids[0], van
            )
            await until_subscribed(dispatcher)
            await asyncio.to_thread(broker.restart, 1.0)  # the backend sees it go, retries
            deadline = time.monotonic() + 15
            while (await counters(dispatcher)).get(
                'lastmile_pipeline_events_total{name="mqtt_connections"}', 0
            ) < 2:
                assert time.monotonic() < deadline, "the backend did not reconnect"
                await asyncio.sleep(0.1)
            metrics = await counters(dispatcher)
            assert metrics['lastmile_pipeline_events_total{name="mqtt_connection_failures"}'] >= 1
            async with device(broker, van) as client:
                topic = f"lastmile/{slug}/drivers/{van}/locations"
                await client.publish(topic, orjson.dumps([app_fix(*MONACO)]), qos=1)
            assert len(await history_reaches(dispatcher, driver_ids[0], 1)) == 1
            await dispatcher.aclose()


async def test_an_empty_mqtt_url_leaves_ingest_off(tmp_path: Path) -> None:
    # `LASTMILE_MQTT_URL=` on all but one process (deploy/compose.yaml): they start, no MQTT.
    with run_server(make_settings(tmp_path, mqtt_url="")) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get("/health")).status_code == 200
            metrics = await counters(client)
    assert 'lastmile_pipeline_events_total{name="mqtt_connections"}' not in metrics
