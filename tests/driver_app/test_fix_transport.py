"""The MQTT setting, its topic, the fallback policy, the sender that falls back to HTTP and
the driver's own setting, without a network (with the real broker and backend:
``test_mqtt_transport.py``)."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver_app.logic.actions import Files, TransitionAction
from driver_app.logic.fix_transport import (
    MQTT_FAILED,
    REFUSED_LOGIN,
    UNREACHABLE,
    MqttBackoff,
    MqttPublishError,
    MqttSetting,
    MqttSettingError,
    Transport,
    batch_payload,
    fixes_topic,
    parse_mqtt_url,
    transport_summary,
)
from driver_app.main import MQTT_URL_VARIABLE, mqtt_setting
from driver_app.services.mqtt_url_file import MqttUrlFile
from driver_app.services.outbox import ItemState, QueuedAction
from driver_app.state.fix_sender import FallbackFixSender
from driver_app.state.mqtt_settings import MqttSettingsState
from shared.enums import OrderStatus
from shared.schemas.locations import FixIn, IngestResponse

NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def test_a_broker_url_names_the_device_its_password_and_the_broker() -> None:
    setting = parse_mqtt_url("mqtt://van-7:s%40cret@broker.example.com:1884")
    assert setting == MqttSetting("broker.example.com", 1884, "van-7", "s@cret", tls=False)
    assert "s@cret" not in repr(setting)
    assert setting.display() == "mqtt://van-7@broker.example.com:1884"


def test_default_ports_are_1883_and_8883_with_tls() -> None:
    assert parse_mqtt_url("mqtt://van:pw@broker").port == 1883
    tls = parse_mqtt_url("mqtts://van:pw@broker/")
    assert (tls.port, tls.tls) == (8883, True)
    assert parse_mqtt_url("  MQTT://van@broker  ").password is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "No MQTT broker given"),
        ("broker.example.com:1883", "must look like mqtt://DEVICE:PASSWORD@host:1883"),
        ("http://van:pw@broker", "starts with http://; use mqtt://"),
        ("tcp://van:pw@broker", "starts with tcp://; use mqtt://"),
        ("mqtt://van:pw@:1883", "names no host"),
        ("mqtt://broker:1883", "names no device"),
        ("mqtt://:pw@broker:1883", "names no device"),
        ("mqtt://van:pw@broker:port", "port 'port' is not a number from 1 to 65535"),
        ("mqtt://van:pw@broker:70000", "port '70000' is not a number from 1 to 65535"),
        ("mqtt://van:pw@broker:0", "port 0 is not a number"),
        ("mqtt://van:pw@broker/lastmile", "takes no path or query"),
        ("mqtt://van%2B1:pw@broker", "device name cannot contain"),
    ],
)
def test_an_unusable_url_is_refused_saying_why(url: str, says: str) -> None:
    with pytest.raises(MqttSettingError) as refused:
        parse_mqtt_url(url)
    assert says in str(refused.value)


_LEVEL = st.text(
    st.characters(codec="ascii", categories=("L", "N"), include_characters="-_."), min_size=1
)


@given(
    device=_LEVEL,
    password=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1),
    host=st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,5}){0,2}", fullmatch=True),
    port=st.integers(1, 65535),
    tls=st.booleans(),
)
def test_any_device_password_and_port_survive_the_url(
    device: str, password: str, host: str, port: int, tls: bool
) -> None:
    scheme = "mqtts" if tls else "mqtt"
    url = f"{scheme}://{quote(device, safe='')}:{quote(password, safe='')}@{host}:{port}"
    assert parse_mqtt_url(url) == MqttSetting(host, port, device, password, tls)


def test_the_topic_is_the_one_the_backend_and_the_sample_acl_expect() -> None:
    assert fixes_topic("acme", "van-7") == "lastmile/acme/drivers/van-7/locations"
    for org, device in (("", "van"), ("acme", ""), ("a/b", "van"), ("acme", "v#")):
        with pytest.raises(MqttSettingError):
            fixes_topic(org, device)


def test_the_payload_is_the_http_batch_as_a_json_array() -> None:
    fixes = [
        FixIn(lat=43.7384, lng=7.4246, recorded_at=NOON, accuracy_m=8),
        FixIn(lat=43.7385, lng=7.4247, recorded_at=NOON + timedelta(seconds=5), speed_mps=3.5),
    ]
    http_body = {"fixes": [f.model_dump(mode="json", exclude_none=True) for f in fixes]}
    assert json.loads(batch_payload(fixes)) == http_body["fixes"]
    assert [FixIn.model_validate(item) for item in json.loads(batch_payload(fixes))] == fixes


def test_mqtt_is_tried_again_after_a_back_off_doubling_to_its_cap_and_reset_by_a_success() -> None:
    backoff = MqttBackoff(first_s=30, max_s=300)
    assert backoff.use_mqtt(0)
    waits = [backoff.failed(now) for now in (0, 30, 90, 210, 450, 750)]
    assert waits == [30, 60, 120, 240, 300, 300]
    assert not backoff.use_mqtt(1049.9)
    assert backoff.use_mqtt(1050)
    backoff.succeeded()
    assert backoff.use_mqtt(1050)
    assert backoff.failed(1050) == 30
    with pytest.raises(ValueError, match="first_s"):
        MqttBackoff(first_s=10, max_s=5)


def test_the_strip_says_which_way_positions_go_and_why() -> None:
    again = datetime(2026, 5, 4, 12, 0, 30, tzinfo=UTC)
    assert transport_summary(None, None, None, UTC) == "Position over MQTT."
    assert transport_summary(Transport.MQTT, None, None, UTC) == "Position over MQTT."
    assert transport_summary(Transport.HTTP, UNREACHABLE, again, UTC) == (
        "MQTT broker unreachable: position over HTTP. MQTT again after 12:00:30."
    )


# --- the sender, with a fake broker and a fake server ----------------------------------------
class FakeBroker:
    def __init__(self) -> None:
        self.down: str | None = None  # the reason it fails with, when failing
        self.received: list[tuple[str, list[dict[str, Any]]]] = []
        self.tries = 0
        self.closed = False

    async def publish(self, topic: str, payload: bytes) -> None:
        self.tries += 1
        if self.down is not None:
            raise MqttPublishError(self.down, "fake")
        self.received.append((topic, json.loads(payload)))

    async def aclose(self) -> None:
        self.closed = True


class FakeHttp:
    base_url = "http://lastmile.test"

    def __init__(self) -> None:
        self.batches: list[list[FixIn]] = []
        self.actions: list[str] = []
        self.refreshed = 0
        self.down = False

    async def send(self, item: QueuedAction, files: Files) -> dict[str, Any]:
        self.actions.append(item.client_id)
        return {"ok": True}

    async def send_fixes(self, fixes: list[FixIn]) -> IngestResponse:
        if self.down:
            raise httpx.ConnectError("no network")
        self.batches.append(fixes)
        return IngestResponse(accepted=len(fixes) - 1, rejected=[])

    async def refresh(self) -> None:
        self.refreshed += 1


class Clock:
    def __init__(self) -> None:
        self.s = 0.0

    def monotonic(self) -> float:
        return self.s

    def now(self) -> datetime:
        return NOON + timedelta(seconds=self.s)


def batch(n: int) -> list[FixIn]:
    return [FixIn(lat=43.7, lng=7.4, recorded_at=NOON + timedelta(seconds=i)) for i in range(n)]


def shown(sender: FallbackFixSender) -> tuple[Transport | None, str | None, datetime | None]:
    return sender.transport, sender.reason, sender.mqtt_again_at


@pytest.fixture
def parts() -> tuple[FakeBroker, FakeHttp, Clock, FallbackFixSender]:
    broker, http, clock = FakeBroker(), FakeHttp(), Clock()
    sender = FallbackFixSender(
        http,
        broker,
        "lastmile/acme/drivers/van/locations",
        backoff=MqttBackoff(first_s=30, max_s=300),
        clock=clock.monotonic,
        now=clock.now,
    )
    return broker, http, clock, sender


async def test_batches_go_over_mqtt_and_fall_back_to_http_in_the_same_call(
    parts: tuple[FakeBroker, FakeHttp, Clock, FallbackFixSender],
) -> None:
    broker, http, clock, sender = parts
    seen: list[Transport | None] = []
    sender.subscribe(lambda: seen.append(sender.transport))

    answer = await sender.send_fixes(batch(3))
    assert (answer.accepted, sender.transport, sender.reason) == (3, Transport.MQTT, None)
    assert [topic for topic, _ in broker.received] == ["lastmile/acme/drivers/van/locations"]
    assert len(broker.received[0][1]) == 3
    assert http.batches == []

    broker.down = UNREACHABLE
    answer = await sender.send_fixes(batch(2))  # MQTT fails: the same batch over HTTP
    assert answer.accepted == 1  # the server's own answer
    assert [len(b) for b in http.batches] == [2]
    assert (sender.transport, sender.reason) == (Transport.HTTP, UNREACHABLE)
    assert sender.mqtt_again_at == NOON + timedelta(seconds=30)

    clock.s = 29
    await sender.send_fixes(batch(1))  # backed off: MQTT not even tried
    assert (broker.tries, len(http.batches)) == (2, 2)

    clock.s = 30
    broker.down = REFUSED_LOGIN
    await sender.send_fixes(batch(1))  # tried again, failed again: a longer back-off
    assert (broker.tries, len(http.batches), sender.reason) == (3, 3, REFUSED_LOGIN)
    assert sender.mqtt_again_at == NOON + timedelta(seconds=30 + 60)

    clock.s = 90
    broker.down = None
    await sender.send_fixes(batch(4))  # back over MQTT, and the back-off starts over
    assert shown(sender) == (Transport.MQTT, None, None)
    assert sender.backoff.failures == 0
    assert sender.sent == {Transport.MQTT: 2, Transport.HTTP: 3}
    assert Transport.HTTP in seen
    assert seen[-1] is Transport.MQTT


async def test_when_both_fail_the_http_error_reaches_the_queue_and_nothing_is_counted_sent(
    parts: tuple[FakeBroker, FakeHttp, Clock, FallbackFixSender],
) -> None:
    broker, http, _, sender = parts
    broker.down, http.down = UNREACHABLE, True
    with pytest.raises(httpx.ConnectError):
        await sender.send_fixes(batch(2))
    assert sender.reason == UNREACHABLE  # said, though nothing went
    assert sender.sent == {Transport.MQTT: 0, Transport.HTTP: 0}


async def test_any_other_failure_on_the_mqtt_side_falls_back_to_http_too(
    parts: tuple[FakeBroker, FakeHttp, Clock, FallbackFixSender],
) -> None:
    broker, http, _, sender = parts

    async def broken(topic: str, payload: bytes) -> None:
        raise RuntimeError("a bug")

    broker.publish = broken  # type: ignore[method-assign]
    answer = await sender.send_fixes(batch(2))
    assert (answer.accepted, [len(b) for b in http.batches]) == (1, [2])
    assert (sender.transport, sender.reason) == (Transport.HTTP, MQTT_FAILED)


async def test_actions_and_refreshes_always_go_over_http(
    parts: tuple[FakeBroker, FakeHttp, Clock, FallbackFixSender],
) -> None:
    broker, http, _, sender = parts
    item = QueuedAction(
        1,
        "c-1",
        TransitionAction(order_id=7, to=OrderStatus.ARRIVING),
        None,
        ItemState.PENDING,
        0,
        None,
        None,
        None,
        NOON,
        NOON,
    )
    assert await sender.send(item, {}) == {"ok": True}
    await sender.refresh()
    assert (http.actions, http.refreshed, broker.tries) == (["c-1"], 1, 0)
    assert sender.base_url == "http://lastmile.test"
    await sender.aclose()
    assert broker.closed


def test_the_setting_comes_from_the_option_else_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MQTT_URL_VARIABLE, raising=False)
    assert mqtt_setting() is None  # HTTP only
    monkeypatch.setenv(MQTT_URL_VARIABLE, "mqtt://van-7:pw@broker")
    assert mqtt_setting() == MqttSetting("broker", 1883, "van-7", "pw", tls=False)
    assert mqtt_setting("mqtts://van-8:pw@other") == MqttSetting("other", 8883, "van-8", "pw", True)
    assert mqtt_setting("") is None  # `--mqtt ""` turns it off
    monkeypatch.setenv(MQTT_URL_VARIABLE, "https://broker")
    with pytest.raises(SystemExit) as refused:
        mqtt_setting()
    assert str(refused.value) == (
        "LASTMILE_DRIVER_MQTT_URL: The MQTT broker address starts with https://; "
        "use mqtt:// (or mqtts:// for TLS)."
    )


async def test_mqtt_can_be_switched_on_and_off_while_the_queue_runs() -> None:
    http, first, second = FakeHttp(), FakeBroker(), FakeBroker()
    sender = FallbackFixSender(http)  # no MQTT: the HTTP sender, and nothing to say
    await sender.send_fixes(batch(1))
    assert (sender.mqtt_on, len(http.batches)) == (False, 1)

    await sender.use(first, "lastmile/acme/drivers/van/locations")
    first.down = UNREACHABLE
    await sender.send_fixes(batch(1))
    assert sender.reason == UNREACHABLE
    await sender.use(second, "lastmile/acme/drivers/van-2/locations")  # starts afresh
    assert shown(sender) == (None, None, None)
    assert first.closed
    await sender.send_fixes(batch(2))
    assert [topic for topic, _ in second.received] == ["lastmile/acme/drivers/van-2/locations"]

    await sender.use(None)
    await sender.send_fixes(batch(1))
    assert (sender.mqtt_on, second.closed, len(http.batches)) == (False, True, 3)


# --- the driver's own setting ------------------------------------------------------------------
class Applied:
    def __init__(self) -> None:
        self.settings: list[MqttSetting | None] = []

    async def __call__(self, setting: MqttSetting | None) -> None:
        self.settings.append(setting)


DEFAULT = MqttSetting("broker.example.com", 1883, "van-default", "pw", tls=False)


async def test_a_drivers_setting_is_checked_kept_beside_the_queue_and_applied(
    tmp_path: Path,
) -> None:
    file = MqttUrlFile(tmp_path / "queue-abc-driver-3.mqtt")
    applied = Applied()
    settings = MqttSettingsState(file, DEFAULT, applied)
    assert await settings.load() == DEFAULT
    assert settings.summary() == (
        "Positions go over MQTT to mqtt://van-default@broker.example.com:1883 (this app's default)."
    )

    settings.open()
    assert not await settings.save("http://van:pw@broker")
    assert settings.error is not None
    assert "use mqtt://" in settings.error
    assert (settings.editing, applied.settings, file.path.exists()) == (True, [], False)

    assert await settings.save(" mqtts://van-7:s3cret@mine.example.com ")
    mine = MqttSetting("mine.example.com", 8883, "van-7", "s3cret", tls=True)
    assert (settings.own, settings.active, applied.settings) == (mine, mine, [mine])
    assert not settings.editing
    assert settings.error is None
    assert "s3cret" not in settings.summary()
    assert file.path.read_text() == "mqtts://van-7:s3cret@mine.example.com\n"
    assert file.path.stat().st_mode & 0o777 == 0o600  # it holds a password

    again = MqttSettingsState(file, DEFAULT, Applied())  # the next sign-in
    assert await again.load() == mine

    await settings.clear()  # back to the app's default
    assert (settings.own, applied.settings[-1], file.path.exists()) == (None, DEFAULT, False)


async def test_an_unusable_saved_setting_is_ignored_and_said(tmp_path: Path) -> None:
    file = MqttUrlFile(tmp_path / "queue.mqtt")
    await file.save("mqtt://broker-without-device")
    settings = MqttSettingsState(file, None, Applied())
    assert await settings.load() is None
    assert settings.summary() == "Positions go over HTTP (no MQTT broker set)."
    assert settings.error is not None
    assert settings.error.startswith("Your saved MQTT setting is ignored: ")
