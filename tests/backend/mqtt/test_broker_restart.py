"""A restart of the broker itself loses nothing: the backend's session, with its subscription
and the messages queued for it, comes back from Mosquitto's persistence, and what devices
publish before the backend has subscribed again waits there too. (With the default plain
subscription: Mosquitto 2.0 does not restore a shared one, ``LASTMILE_MQTT_SHARED_GROUP``.)"""

import asyncio
import time
import uuid
from pathlib import Path

import orjson

from tests.backend.mqtt.test_mqtt_ingest import (
    MONACO,
    device,
    device_name,
    good_fix,
    history,
    history_reaches,
    register,
    until_subscribed,
)
from tests.conftest import make_settings
from tests.factories import Org, create_org_with_users, login
from tests.live_server import run_server
from tests.mosquitto_server import Mosquitto, run_mosquitto


async def publish_fixes(broker: Mosquitto, van: str, topic: str, seconds: range) -> None:
    """One message a fix, one fix a second ``seconds`` into the past ten minutes, a metre
    apart: every one is a good fix."""
    start = time.time() - 600
    async with device(broker, van) as client:
        for i in seconds:
            await client.publish(topic, orjson.dumps([good_fix(start, i)]), qos=1)


async def test_fixes_published_around_a_broker_restart_while_the_backend_is_away_arrive_once(
    tmp_path: Path,
) -> None:
    with run_mosquitto() as broker:  # its own broker: this test restarts it
        settings = make_settings(
            tmp_path, mqtt_url=broker.url(), mqtt_client_id=f"broker-restart-{uuid.uuid4().hex}"
        )
        van = device_name("van")
        broker.add_user(van)
        with run_server(settings) as base_url:
            _, slug, emails, driver_ids = await create_org_with_users(settings)  # migrated
            dispatcher = await login(base_url, emails["dispatcher"])
            org = Org(0, slug, emails, driver_ids, {"dispatcher": dispatcher})
            await register(org, driver_ids[0], van)
            await until_subscribed(dispatcher)
            await dispatcher.aclose()
        # The backend is stopped (gracefully: its session stays with the broker).
        topic = f"lastmile/{slug}/drivers/{van}/locations"
        await publish_fixes(broker, van, topic, range(0, 10))  # queued in its session
        await asyncio.to_thread(broker.restart)  # saved to disk, read back
        await publish_fixes(broker, van, topic, range(10, 20))  # before it has resubscribed
        with run_server(settings) as base_url:
            dispatcher = await login(base_url, emails["dispatcher"])
            await history_reaches(dispatcher, driver_ids[0], 20, within_s=15)
            await asyncio.sleep(0.5)  # nothing more arrives (no duplicate)
            items = await history(dispatcher, driver_ids[0])
            await dispatcher.aclose()
    lats = [round((f["lat"] - MONACO[0]) / 1e-5) for f in items]
    assert sorted(lats) == list(range(20))  # every fix, each once
