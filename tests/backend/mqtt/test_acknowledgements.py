"""Acknowledgement semantics against a real mosquitto, with a pipeline that fails on demand:
a message whose fixes could not be stored is not acknowledged, and the broker sends it
again (the subscriber reconnects); one that was stored is acknowledged and never comes back.
"""

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import aiomqtt
import orjson

from backend.db import create_engine
from backend.locations.device_directory import DeviceAuth, DeviceDirectory
from backend.locations.fix import DriverRef, Fix, IngestResult
from backend.locations.metrics import Counters
from backend.mqtt.subscriber import MqttIngest
from tests.conftest import make_settings
from tests.mosquitto_server import Mosquitto, run_mosquitto

PHONE = DeviceAuth(7, "alice", DriverRef(org_id=1, driver_id=3), None, None)


class Devices:
    """Only ``alice`` is registered."""

    async def lookup(self, identifier: str) -> DeviceAuth | None:
        return PHONE if identifier == "alice" else None

    def seen(self, device_id: int, at: float) -> None:
        pass


class FlakyPipeline:
    """Fails the first ``failures`` calls (the database is down), then stores."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[list[Fix]] = []
        self.stored: list[Fix] = []

    async def ingest(self, driver: DriverRef, fixes: Sequence[Fix]) -> IngestResult:
        self.calls.append(list(fixes))
        if len(self.calls) <= self.failures:
            raise RuntimeError("database is down")
        self.stored.extend(fixes)
        return IngestResult(len(fixes), [])


async def until(predicate: object, within_s: float = 10) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_fix_that_could_not_be_stored_comes_again_and_is_stored_once(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    # A broker of its own: the session this subscriber leaves behind would queue the other
    # tests' messages on the session broker for a week (or, with a shared group, take its
    # share of them from the other tests' backend).
    with run_mosquitto() as broker:
        await stored_once_after_a_failure(broker, tmp_path)


async def stored_once_after_a_failure(mosquitto: Mosquitto, tmp_path: Path) -> None:
    mosquitto.add_user("alice")
    settings = make_settings(
        tmp_path, mqtt_url=mosquitto.url(), mqtt_client_id=f"ack-test-{time.time_ns()}"
    )
    engine = create_engine(settings.resolved_database_url)
    pipeline = FlakyPipeline(failures=1)
    metrics = Counters()
    ingest = MqttIngest(
        settings,
        pipeline,
        cast(DeviceDirectory, Devices()),
        engine,
        metrics,
        backoff_s=(0.05, 0.2),
    )
    ingest.start()
    try:
        await asyncio.wait_for(ingest.connected.wait(), 10)
        location = {"_type": "location", "lat": 43.73, "lon": 7.42, "tst": int(time.time())}
        async with aiomqtt.Client(
            "127.0.0.1", mosquitto.port, username="alice", password="alice-secret"
        ) as phone:
            await phone.publish("owntracks/alice/pixel", orjson.dumps(location), qos=1)
        await until(lambda: len(pipeline.stored) == 1)
        await asyncio.sleep(0.5)  # acknowledged now: it does not come a third time
    finally:
        await ingest.close()
        await engine.dispose()
    assert len(pipeline.calls) == 2
    first, again = ([(f.lat, f.lng, f.recorded_at) for f in call] for call in pipeline.calls)
    assert first == again  # the same fix, sent again by the broker
    assert [(f.lat, f.lng) for f in pipeline.stored] == [(43.73, 7.42)]
    assert metrics.get("mqtt_store_failures") == 1
    assert metrics.get("mqtt_connections") == 2  # it reconnected to get it back
