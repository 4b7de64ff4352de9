"""The MQTT ingest's pure parts: topics, payloads, the broker URL, the drop log."""

import orjson
import pytest

from backend.locations.fix import Rejection, Source
from backend.mqtt.broker_url import parse_broker_url
from backend.mqtt.drops import DropLog, DropReason, counter
from backend.mqtt.payloads import MalformedPayloadError, lastmile_payload, owntracks_payload
from backend.mqtt.topics import LastmileTopic, OwnTracksTopic, filters, parse_topic

FIX = {"lat": 43.7384, "lng": 7.4246, "recorded_at": "2030-01-02T08:00:00Z"}


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("lastmile/acme/drivers/van-7/locations", LastmileTopic("acme", "van-7")),
        ("owntracks/alice/pixel", OwnTracksTopic("alice", "pixel")),
        ("lastmile/acme/drivers/van-7/events", None),
        ("lastmile/acme/riders/van-7/locations", None),
        ("lastmile//drivers/van-7/locations", None),
        ("other/acme/drivers/van-7/locations", None),
        ("owntracks/alice/pixel/cmd", None),
        ("owntracks/alice", None),
    ],
)
def test_topics_name_the_organisation_and_device(
    topic: str, expected: LastmileTopic | OwnTracksTopic | None
) -> None:
    assert parse_topic(topic, "lastmile") == expected


def test_a_custom_prefix_and_shared_subscriptions() -> None:
    assert parse_topic("fleet/acme/drivers/d1/locations", "fleet") == LastmileTopic("acme", "d1")
    assert parse_topic("lastmile/acme/drivers/d1/locations", "fleet") is None
    assert filters("lastmile", "workers") == [
        "$share/workers/lastmile/+/drivers/+/locations",
        "$share/workers/owntracks/+/+",
    ]
    assert filters("lastmile", None) == ["lastmile/+/drivers/+/locations", "owntracks/+/+"]
    assert OwnTracksTopic("alice", "pixel").identifiers() == ("alice:pixel", "alice")


def test_app_batches_read_like_the_http_endpoint() -> None:
    for body in ([FIX, FIX], {"fixes": [FIX, FIX]}):
        payload = lastmile_payload(orjson.dumps(body), 1.0)
        assert [f.lat for f in payload.fixes] == [43.7384, 43.7384]
        assert payload.fixes[0].source is Source.APP
        assert payload.fixes[0].received_at == 1.0
    single = lastmile_payload(orjson.dumps(FIX), 1.0)
    assert len(single.fixes) == 1
    # One bad fix of a batch is refused alone, at its index.
    mixed = lastmile_payload(orjson.dumps([{**FIX, "lat": 91}, FIX]), 1.0)
    assert mixed.indexes == [1]
    assert [(r.index, r.reason) for r in mixed.rejected] == [(0, Rejection.INVALID)]
    assert lastmile_payload(b"[]", 1.0).fixes == []


@pytest.mark.parametrize(
    "raw",
    [b"{nope", b"\xff", b'"text"', b"42", orjson.dumps([{**FIX, "lat": 91}]), b"[1]"],
)
def test_unreadable_app_payloads_are_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedPayloadError):
        lastmile_payload(raw, 1.0)


def test_oversized_and_overlong_batches_are_malformed() -> None:
    with pytest.raises(MalformedPayloadError, match="at most 500"):
        lastmile_payload(orjson.dumps([FIX] * 501), 1.0)
    with pytest.raises(MalformedPayloadError, match="bytes"):
        lastmile_payload(b" " * (1024 * 1024 + 1), 1.0)


def test_owntracks_messages_as_in_its_http_mode() -> None:
    location = {"_type": "location", "lat": 43.73, "lon": 7.42, "tst": 1_900_000_000, "vel": 36}
    payload = owntracks_payload(orjson.dumps(location), 2.0)
    (fix,) = payload.fixes
    assert (fix.lat, fix.lng, fix.recorded_at, fix.source) == (43.73, 7.42, 1.9e9, Source.OWNTRACKS)
    assert fix.speed_mps == pytest.approx(10.0)
    assert owntracks_payload(b'{"_type": "transition"}', 2.0).fixes == []
    for raw in (b"[]", b"{}", b'{"_type": "location", "lat": 1, "lon": 2}', b"\xff"):
        with pytest.raises(MalformedPayloadError):
            owntracks_payload(raw, 2.0)


def test_broker_urls() -> None:
    address = parse_broker_url("mqtt://lastmile:p%40ss@broker.example:1884")
    assert (address.host, address.port, address.username, address.password, address.tls) == (
        "broker.example",
        1884,
        "lastmile",
        "p@ss",
        False,
    )
    assert "p@ss" not in repr(address)
    tls = parse_broker_url("mqtts://broker.example")
    assert (tls.port, tls.tls, tls.username) == (8883, True, None)
    assert parse_broker_url("mqtt://127.0.0.1").port == 1883
    for bad in ("http://broker", "mqtt://", "mqtt://host:99999"):
        with pytest.raises(ValueError, match="MQTT URL"):
            parse_broker_url(bad)


def test_drops_are_logged_once_per_device_and_reason_a_minute() -> None:
    log = DropLog(every_s=60, size=2)
    assert log.should_log("van", DropReason.MALFORMED, 0.0)
    assert not log.should_log("van", DropReason.MALFORMED, 59.0)
    assert log.should_log("van", DropReason.ORG_MISMATCH, 59.0)  # another reason
    assert log.should_log("van", DropReason.MALFORMED, 60.0)
    assert log.should_log("bike", DropReason.MALFORMED, 61.0)
    # At most ``size`` remembered: the oldest is forgotten (and may log again).
    assert log.should_log("van", DropReason.ORG_MISMATCH, 62.0)
    assert counter(DropReason.UNKNOWN_DEVICE) == "mqtt_dropped_unknown_device"


def test_serve_refuses_several_workers_sharing_one_mqtt_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from backend.cli import app

    monkeypatch.setenv("LASTMILE_MQTT_URL", "mqtt://lastmile:secret@127.0.0.1:1")
    result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "LASTMILE_MQTT_CLIENT_ID" in result.output
