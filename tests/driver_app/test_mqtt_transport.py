"""The driver app's fixes over MQTT for real: Debian's mosquitto with the sample ACL, the
backend subscribed to it, and the app's queue (its sync loop, or the whole offline work)
publishing as the driver's registered device. What a dispatcher reads back (the driver's
location history) shows every fix once, whichever way it went.

The broker here is this module's own: the tests stop, freeze and restart it.
"""

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import expect

from driver_app.logic.fix_transport import (
    NO_ACK,
    REFUSED_LOGIN,
    REFUSED_TOPIC,
    UNREACHABLE,
    MqttBackoff,
    MqttPublishError,
    Transport,
    fixes_topic,
    parse_mqtt_url,
)
from driver_app.logic.gps_pacing import BatchPolicy
from driver_app.services.mqtt_fixes import MqttFixPublisher
from driver_app.services.outbox import Outbox
from driver_app.services.sender import ApiSender
from driver_app.state.fix_sender import FallbackFixSender
from driver_app.state.offline import OfflineWork
from driver_app.state.sync import SyncLoop
from shared.api_client import ApiClient
from shared.schemas.locations import FixIn, IngestResponse
from tests.backend.mqtt.test_mqtt_ingest import (  # noqa: F401 (fixtures)
    counters,
    device_name,
    history,
    history_reaches,
    mqtt_backend,
    mqtt_org,
    mqtt_settings,
    register,
)
from tests.browser import CHROMIUM, open_in_chromium, serve_app
from tests.conftest import require_tool
from tests.driver_app.test_sync import until
from tests.factories import PASSWORD, Org
from tests.mosquitto_server import MOSQUITTO, Mosquitto, run_mosquitto

MONACO = (43.7384, 7.4246)
MONACO_PORT = {"latitude": 43.7350, "longitude": 7.4215, "accuracy": 8}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "driver"


@pytest.fixture(scope="module")
def mosquitto() -> Iterator[Mosquitto]:
    """This module's own broker (it is stopped and frozen here), for ``mqtt_backend`` too."""
    require_tool(MOSQUITTO, "mosquitto (Debian package mosquitto)")
    with run_mosquitto() as broker:
        yield broker


class CountingHttp(ApiSender):
    """The app's HTTP sender, counting the batches of fixes it sent."""

    def __init__(self, client: ApiClient) -> None:
        super().__init__(client)
        self.batches: list[int] = []

    async def send_fixes(self, fixes: list[FixIn]) -> IngestResponse:
        answer = await super().send_fixes(fixes)
        self.batches.append(len(fixes))
        return answer


class Clock:
    """The back-off's clock, moved on by the test."""

    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


class Track:
    """Good fixes, a second and a metre apart, recorded in the last ten minutes."""

    def __init__(self) -> None:
        self.start = time.time() - 600
        self.n = 0

    def next(self, count: int) -> list[FixIn]:
        fixes = [
            FixIn(
                lat=MONACO[0] + (self.n + i) * 1e-5,
                lng=MONACO[1],
                recorded_at=datetime.fromtimestamp(self.start + self.n + i, UTC),
                accuracy_m=5,
            )
            for i in range(count)
        ]
        self.n += count
        return fixes


def shown(fixes: FallbackFixSender) -> tuple[Transport | None, str | None, int]:
    return fixes.transport, fixes.reason, fixes.backoff.failures


@dataclass
class Driver:
    org: Org
    driver_id: int
    device: str
    client: ApiClient


@pytest.fixture
async def driver(
    mosquitto: Mosquitto,
    mqtt_org: Org,  # noqa: F811
    mqtt_backend: str,  # noqa: F811
) -> AsyncIterator[Driver]:
    """The first driver of a new organisation, signed in, with a registered device that is
    also a broker user."""
    device = device_name("van")
    await register(mqtt_org, mqtt_org.driver_ids[0], device)
    await asyncio.to_thread(mosquitto.add_user, device)
    async with ApiClient(mqtt_backend) as client:
        await client.login(mqtt_org.emails["driver"], PASSWORD)
        yield Driver(mqtt_org, mqtt_org.driver_ids[0], device, client)


async def stored_once(d: Driver, sent: int, within_s: float = 30) -> None:
    """The dispatcher sees exactly the ``sent`` fixes, each once, nothing more arriving."""
    items = await history_reaches(d.org.dispatcher, d.driver_id, sent, within_s)
    await asyncio.sleep(0.5)  # a late copy would show now
    items = await history(d.org.dispatcher, d.driver_id)
    recorded = [item["recorded_at"] for item in items]
    assert len(recorded) == sent, f"{len(recorded)} stored, {sent} sent"
    assert len(set(recorded)) == sent


async def backend_connections(d: Driver) -> float:
    return (await counters(d.org.admin)).get(
        'lastmile_pipeline_events_total{name="mqtt_connections"}', 0.0
    )


async def mqtt_messages(d: Driver) -> float:
    return (await counters(d.org.admin)).get(
        'lastmile_pipeline_events_total{name="mqtt_messages"}', 0.0
    )


async def fixes_received(d: Driver) -> float:
    return (await counters(d.org.admin)).get('lastmile_fixes_total{outcome="received"}', 0.0)


async def resubscribed(d: Driver, connections: float, within_s: float = 30) -> None:
    """The backend connected to the broker again (it counted one more connection)."""
    deadline = time.monotonic() + within_s
    while await backend_connections(d) <= connections:
        assert time.monotonic() < deadline, "the backend did not connect again"
        await asyncio.sleep(0.1)


async def sent_through(sync: SyncLoop, outbox: Outbox, fixes: list[FixIn]) -> None:
    """Queue ``fixes`` and wait until the queue is empty again."""
    await sync.add_fixes(fixes)
    await until(lambda: sync.pending_fixes == 0, 20, "the queued fixes sent")
    assert (await outbox.fix_backlog())[0] == 0


async def test_fixes_go_over_mqtt_then_http_while_the_broker_is_away_then_mqtt_again(
    mosquitto: Mosquitto, driver: Driver, tmp_path: Path
) -> None:
    clock, track = Clock(), Track()
    http = CountingHttp(driver.client)
    setting = parse_mqtt_url(mosquitto.url(driver.device))
    publisher = MqttFixPublisher(setting, timeout_s=3)
    fixes = FallbackFixSender(
        http,
        publisher,
        fixes_topic(driver.org.slug, driver.device),
        backoff=MqttBackoff(first_s=30, max_s=120),
        clock=clock,
    )
    async with await Outbox.open(tmp_path / "queue.sqlite") as outbox:
        sync = SyncLoop(outbox, fixes, batch=BatchPolicy(max_size=50, max_age_s=0))
        sync.start()
        try:
            # Over MQTT, on one kept connection: the backend stores them all.
            await sent_through(sync, outbox, track.next(120))
            await sent_through(sync, outbox, track.next(30))
            assert fixes.transport is Transport.MQTT
            assert fixes.sent[Transport.MQTT] == 4  # 50 + 50 + 20, then 30
            assert http.batches == []
            await stored_once(driver, 150)

            # The broker goes away: the next batches go over HTTP, in the same send.
            connections = await backend_connections(driver)
            await asyncio.to_thread(mosquitto.stop)
            try:
                await sent_through(sync, outbox, track.next(10))
                assert (fixes.transport, fixes.reason) == (Transport.HTTP, UNREACHABLE)
                clock.s = 10  # still backed off: HTTP without trying MQTT
                await sent_through(sync, outbox, track.next(10))
                clock.s = 30  # MQTT tried again, still away: HTTP again, longer back-off
                await sent_through(sync, outbox, track.next(10))
                assert fixes.backoff.failures == 2
                assert http.batches == [10, 10, 10]
                await stored_once(driver, 180)
            finally:
                await asyncio.to_thread(mosquitto.start)

            # Back, but MQTT waits out its back-off ...
            await sent_through(sync, outbox, track.next(10))
            assert shown(fixes)[0] is Transport.HTTP
            # (The backend's session outlives the broker's restart, so this wait is not for
            # safety: it keeps the test's counts about this batch, not a reconnection race.
            # The back-off is longer than the backend's reconnection in real life.)
            await resubscribed(driver, connections)
            # ... then the next batch goes over MQTT again, and the back-off starts over.
            clock.s = 30 + 60
            await sent_through(sync, outbox, track.next(10))
            assert shown(fixes) == (Transport.MQTT, None, 0)
            assert http.batches == [10, 10, 10, 10]
            assert fixes.sent == {Transport.MQTT: 5, Transport.HTTP: 4}
            assert sync.last_error is None
            await stored_once(driver, 200)
        finally:
            await sync.aclose()
            await fixes.aclose()


async def test_a_stalled_broker_hands_the_batch_to_http_and_it_is_stored_once(
    mosquitto: Mosquitto, driver: Driver, tmp_path: Path
) -> None:
    track = Track()
    http = CountingHttp(driver.client)
    publisher = MqttFixPublisher(parse_mqtt_url(mosquitto.url(driver.device)), timeout_s=1)
    fixes = FallbackFixSender(http, publisher, fixes_topic(driver.org.slug, driver.device))
    async with await Outbox.open(tmp_path / "queue.sqlite") as outbox:
        sync = SyncLoop(outbox, fixes, batch=BatchPolicy(max_size=50, max_age_s=0))
        sync.start()
        try:
            await sent_through(sync, outbox, track.next(5))
            assert fixes.transport is Transport.MQTT
            received = await fixes_received(driver)
            os.kill(mosquitto.process.pid, signal.SIGSTOP)  # takes the batch, answers nothing
            try:
                await sent_through(sync, outbox, track.next(5))
            finally:
                os.kill(mosquitto.process.pid, signal.SIGCONT)
            assert (fixes.transport, fixes.reason) == (Transport.HTTP, NO_ACK)
            assert http.batches == [5]
            # The broker delivers that batch too, after the HTTP copy: the backend gets
            # both and keeps one.
            deadline = time.monotonic() + 15
            while await fixes_received(driver) < received + 10:
                assert time.monotonic() < deadline, "the broker's copy never came"
                await asyncio.sleep(0.1)
            await stored_once(driver, 10)
        finally:
            await sync.aclose()
            await fixes.aclose()


async def send_all(work: OfflineWork, fixes: list[FixIn]) -> None:
    await work.sync.add_fixes(fixes)
    work.sync.flush_fixes()  # not waiting the batch's 15 s
    await until(lambda: work.sync.pending_fixes == 0, 20, "the fixes sent")


async def test_a_wrong_password_sends_over_http_until_the_driver_saves_the_right_one(
    mosquitto: Mosquitto, driver: Driver, tmp_path: Path
) -> None:
    """The whole offline work, set up as the app's composition root does, with a default
    MQTT setting whose password is wrong; the driver then saves their own."""
    track = Track()
    wrong = parse_mqtt_url(mosquitto.url(driver.device, password="not-the-password"))
    work = await OfflineWork.open(
        driver.client, tmp_path, driver.driver_id, mqtt=wrong, org_slug=driver.org.slug
    )
    try:
        assert work.fixes.topic == f"lastmile/{driver.org.slug}/drivers/{driver.device}/locations"
        await send_all(work, track.next(12))
        assert (work.fixes.transport, work.fixes.reason) == (Transport.HTTP, REFUSED_LOGIN)
        assert work.fixes.mqtt_again_at is not None  # MQTT again after the back-off
        assert work.sync.last_error is None
        await stored_once(driver, 12)

        # The driver saves the right URL: the next batch goes over MQTT, no back-off.
        assert await work.mqtt_settings.save(mosquitto.url(driver.device))
        await send_all(work, track.next(8))
        assert (work.fixes.transport, work.fixes.reason) == (Transport.MQTT, None)
        await stored_once(driver, 20)
    finally:
        await work.aclose()

    # Their setting is kept for their next sign-in, over the app's default.
    work = await OfflineWork.open(
        driver.client, tmp_path, driver.driver_id, mqtt=wrong, org_slug=driver.org.slug
    )
    try:
        assert work.mqtt_settings.own is not None
        await send_all(work, track.next(5))
        assert work.fixes.transport is Transport.MQTT
        await stored_once(driver, 25)
        await work.mqtt_settings.clear()  # back to the (wrong) default
        await send_all(work, track.next(5))
        assert (work.fixes.transport, work.fixes.reason) == (Transport.HTTP, REFUSED_LOGIN)
        await stored_once(driver, 30)
    finally:
        await work.aclose()


async def test_the_broker_refuses_a_topic_of_another_device_and_the_connection_goes_on(
    mosquitto: Mosquitto, driver: Driver
) -> None:
    publisher = MqttFixPublisher(parse_mqtt_url(mosquitto.url(driver.device)), timeout_s=3)
    other = fixes_topic(driver.org.slug, device_name("other"))
    try:
        with pytest.raises(MqttPublishError) as refused:
            await publisher.publish(other, b"[]")
        assert refused.value.reason == REFUSED_TOPIC
        await publisher.publish(fixes_topic(driver.org.slug, driver.device), b"[]")
    finally:
        await publisher.aclose()


async def test_no_broker_at_all_is_unreachable_at_once(tmp_path: Path) -> None:
    with run_mosquitto() as broker:
        url = broker.url("van")
    publisher = MqttFixPublisher(parse_mqtt_url(url), timeout_s=3)
    started = time.monotonic()
    with pytest.raises(MqttPublishError) as failed:
        await publisher.publish("lastmile/acme/drivers/van/locations", b"[]")
    assert failed.value.reason == UNREACHABLE
    assert time.monotonic() - started < 3
    assert not publisher.connected


@pytest.mark.browser
@pytest.mark.timeout(180)
async def test_the_strip_says_how_positions_leave_in_the_browser(
    mosquitto: Mosquitto,
    driver: Driver,
    mqtt_backend: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The app as ``python -m driver_app`` serves it with ``$LASTMILE_DRIVER_MQTT_URL``."""
    require_tool(CHROMIUM, "Chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {"LASTMILE_DRIVER_MQTT_URL": mosquitto.url(driver.device)}
    messages = await mqtt_messages(driver)
    async with (
        serve_app("driver_app", mqtt_backend, tmp_path / "driver_app.log", env=env) as url,
        open_in_chromium(url, geolocation=MONACO_PORT, permissions=["geolocation"]) as ui,
    ):
        await ui.sign_in(driver.org.emails["driver"], PASSWORD)
        await expect(ui.by_id("sync-transport")).to_have_text("Position over MQTT.")
        await ui.page.get_by_role("button", name="On shift").click()
        await expect(ui.by_id("gps-status")).to_contain_text("Sharing your position")
        # The first fix leaves within the batch's 15 s, through the broker.
        assert len(await history_reaches(driver.org.dispatcher, driver.driver_id, 1, 30)) == 1
        assert await mqtt_messages(driver) > messages

        received = await fixes_received(driver)
        await asyncio.to_thread(mosquitto.stop)
        try:
            await ui.page.get_by_role("button", name="Off shift").click()
            await ui.page.get_by_role("button", name="On shift").click()  # a fix at once
            await expect(ui.by_id("sync-transport")).to_contain_text(
                "MQTT broker unreachable: position over HTTP. MQTT again after",
                timeout=60_000,  # the next batch (15 s), its PUBACK wait (10 s), a busy box
            )
            await ui.page.screenshot(path=ARTIFACTS / "mqtt-over-http.png")
            # It reached the backend over HTTP (the browser's emulated GPS repeats its
            # reading, so the backend may keep it as a duplicate of the first).
            assert await fixes_received(driver) > received
        finally:
            await asyncio.to_thread(mosquitto.start)

        # The driver's own setting: refused with the reason, then saved and used at once.
        await ui.click("mqtt-settings-open")
        await expect(ui.by_id("mqtt-summary")).to_have_text(
            f"Positions go over MQTT to mqtt://{driver.device}@127.0.0.1:{mosquitto.port} "
            "(this app's default)."
        )
        await ui.type_into("mqtt-url", f"http://{driver.device}:pw@127.0.0.1")
        await ui.click("mqtt-save")
        await expect(ui.by_id("mqtt-error")).to_contain_text("use mqtt:// (or mqtts:// for TLS)")
        await ui.type_into("mqtt-url", mosquitto.url(driver.device))
        await ui.click("mqtt-save")
        await expect(ui.by_id("mqtt-settings")).to_have_count(0)  # saved: the form closes
        await expect(ui.by_id("sync-transport")).to_have_text("Position over MQTT.")
        await ui.click("mqtt-settings-open")
        await expect(ui.by_id("mqtt-summary")).to_contain_text("(your setting).")
        await ui.page.screenshot(path=ARTIFACTS / "mqtt-settings.png")
