"""The GPS-app parsers alone: every field, unit and timestamp format, and bad input."""

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.locations.fix import Rejection, Source
from backend.locations.gps_protocols import (
    KMH_MPS,
    KNOT_MPS,
    MAX_OVERLAND_POINTS,
    ProtocolError,
    parse_osmand,
    parse_overland,
    parse_owntracks,
    parse_timestamp,
    parse_traccar_json,
)

NOW = 1_750_000_000.0
T = 1_700_000_000  # 2023-11-14T22:13:20Z


# --- timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (T, T),
        (str(T), T),
        (f"{T}.5", T + 0.5),
        (T * 1000, T),
        (str(T * 1000 + 250), T + 0.25),
        ("2023-11-14T22:13:20Z", T),
        ("2023-11-14T22:13:20+00:00", T),
        ("2023-11-15T00:13:20+02:00", T),
        ("2023-11-15T00:13:20 02:00", T),  # '+' lost in an unencoded query string
        ("2023-11-14T22:13:20.500Z", T + 0.5),
        ("2023-11-14T22:13:20", T),  # naive: UTC
        ("2023-11-14 22:13:20", T),  # Traccar's "yyyy-MM-dd HH:mm:ss"
    ],
)
def test_timestamp_formats(value: object, expected: float) -> None:
    assert parse_timestamp(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    "value", ["yesterday", "", "nan", "inf", "-5", True, None, [T], "2023-13-40T00:00:00Z", 1e20]
)
def test_bad_timestamps_name_the_field(value: object) -> None:
    with pytest.raises(ProtocolError, match=r"^tst:"):
        parse_timestamp(value, "tst")


# Epoch milliseconds below 1e11 (before March 1973) read as seconds: that is the contract.
@given(st.datetimes(min_value=datetime(1973, 3, 4), max_value=datetime(2500, 1, 1)))
def test_every_format_of_one_moment_agrees(moment: datetime) -> None:
    moment = moment.replace(tzinfo=UTC, microsecond=moment.microsecond // 1000 * 1000)
    seconds = moment.timestamp()
    millis = round(seconds * 1000)
    shifted = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
    for value in (seconds, millis, str(millis), moment.isoformat(), shifted.isoformat()):
        assert parse_timestamp(value) == pytest.approx(seconds, abs=1e-3)


# --- OsmAnd / Traccar Client ------------------------------------------------------------------


def test_osmand_every_field() -> None:
    report = parse_osmand(
        {
            "id": "van-7",
            "lat": "43.7384",
            "lon": "7.4246",
            "timestamp": str(T),
            "speed": "10",
            "bearing": "90.5",
            "altitude": "55.2",
            "accuracy": "8",
            "batt": "77",
            "key": "s3cret-key",
            "hdop": "1.2",  # ignored, as are other extras
        },
        NOW,
    )
    assert report.identifier == "van-7"
    assert report.secret == "s3cret-key"
    assert report.indexes == [0]
    (fix,) = report.fixes
    assert (fix.lat, fix.lng, fix.recorded_at, fix.received_at) == (43.7384, 7.4246, T, NOW)
    assert fix.speed_mps == pytest.approx(10 * 0.514444, rel=1e-5)  # knots
    assert (fix.heading_deg, fix.altitude_m, fix.accuracy_m, fix.battery) == (90.5, 55.2, 8, 77)
    assert fix.source is Source.OSMAND


def test_osmand_alternatives() -> None:
    report = parse_osmand(
        {"deviceid": "x1", "location": "43.7,7.4", "heading": "370", "timestamp": str(T * 1000)},
        NOW,
    )
    (fix,) = report.fixes
    assert report.identifier == "x1"
    assert report.secret is None
    assert (fix.lat, fix.lng, fix.recorded_at) == (43.7, 7.4, T)
    assert fix.heading_deg == pytest.approx(10)
    assert fix.speed_mps is fix.battery is fix.accuracy_m is None


def test_osmand_without_timestamp_uses_arrival_and_sentinels_mean_unknown() -> None:
    (fix,) = parse_osmand(
        {"id": "a", "lat": "1", "lon": "2", "speed": "-1", "accuracy": "-1", "bearing": "-1"}, NOW
    ).fixes
    assert fix.recorded_at == NOW
    assert fix.speed_mps is fix.accuracy_m is fix.heading_deg is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": "1", "lon": "2"}, "id"),
        ({"id": "a", "lat": "1"}, "lat, lon"),
        ({"id": "a", "lat": "x", "lon": "2"}, "lat"),
        ({"id": "a", "lat": "91", "lon": "2"}, "lat"),
        ({"id": "a", "lat": "1", "lon": "-181"}, "lon"),
        ({"id": "a", "lat": "nan", "lon": "2"}, "lat"),
        ({"id": "a", "location": "1;2"}, "location"),
        ({"id": "a", "lat": "1", "lon": "2", "timestamp": "soon"}, "timestamp"),
        ({"id": "a", "lat": "1", "lon": "2", "speed": "fast"}, "speed"),
        ({"id": "a", "lat": "1", "lon": "2", "batt": "140"}, "batt"),
    ],
)
def test_osmand_bad_input_names_the_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(ProtocolError, match=f"^{field}"):
        parse_osmand(params, NOW)


@given(knots=st.floats(min_value=0, max_value=500))
def test_osmand_knots_to_mps(knots: float) -> None:
    (fix,) = parse_osmand({"id": "a", "lat": "1", "lon": "2", "speed": repr(knots)}, NOW).fixes
    assert fix.speed_mps == pytest.approx(knots * 1852 / 3600)
    assert pytest.approx(0.514444, rel=1e-6) == KNOT_MPS


def test_traccar_json_body() -> None:
    report = parse_traccar_json(
        {
            "device_id": "tc-1",
            "location": {
                "timestamp": "2023-11-14T22:13:20.000Z",
                "coords": {
                    "latitude": 43.7,
                    "longitude": 7.4,
                    "speed": 3.5,
                    "heading": 180,
                    "accuracy": 5,
                    "altitude": 12,
                },
                "battery": {"level": 0.42, "is_charging": False},
            },
        },
        NOW,
    )
    (fix,) = report.fixes
    assert report.identifier == "tc-1"
    assert (fix.lat, fix.lng, fix.recorded_at, fix.speed_mps) == (43.7, 7.4, T, 3.5)
    assert (fix.heading_deg, fix.accuracy_m, fix.altitude_m) == (180, 5, 12)
    assert fix.battery == pytest.approx(42)


@pytest.mark.parametrize(
    "body",
    [[], {"location": {}}, {"device_id": "a"}, {"device_id": "a", "location": {"coords": 1}}],
)
def test_traccar_json_bad(body: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_traccar_json(body, NOW)


# --- OwnTracks --------------------------------------------------------------------------------


def test_owntracks_location() -> None:
    message = parse_owntracks(
        {
            "_type": "location",
            "lat": 43.7,
            "lon": 7.4,
            "tst": T,
            "acc": 12,
            "vel": 36,
            "cog": 270,
            "batt": 55,
            "alt": 30,
            "tid": "dd",
            "conn": "m",  # extras are ignored
        },
        NOW,
    )
    assert (message.kind, message.tid) == ("location", "dd")
    fix = message.fix
    assert fix is not None
    assert (fix.lat, fix.lng, fix.recorded_at, fix.accuracy_m) == (43.7, 7.4, T, 12)
    assert fix.speed_mps == pytest.approx(10.0)  # 36 km/h
    assert (fix.heading_deg, fix.battery, fix.altitude_m) == (270, 55, 30)
    assert fix.source is Source.OWNTRACKS
    assert pytest.approx(1 / 3.6) == KMH_MPS


@pytest.mark.parametrize("kind", ["transition", "waypoint", "lwt", "card", "status"])
def test_owntracks_other_types_carry_no_fix(kind: str) -> None:
    message = parse_owntracks({"_type": kind, "tid": "ab"}, NOW)
    assert (message.kind, message.fix) == (kind, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"lat": 1}, "_type"),
        ({"_type": "location", "lat": 1, "lon": 2}, "tst"),
        ({"_type": "location", "lat": "1", "lon": 2, "tst": T}, None),  # numeric text is fine
        ({"_type": "location", "lat": True, "lon": 2, "tst": T}, "lat"),
        ({"_type": "location", "lat": 1, "lon": 200, "tst": T}, "lon"),
        ({"_type": "location", "lat": 1, "lon": 2, "tst": "x"}, "tst"),
        ({"_type": "location", "lat": 1, "lon": 2, "tst": T, "vel": [1]}, "vel"),
    ],
)
def test_owntracks_bad_input(body: Any, field: str | None) -> None:
    if field is None:
        assert parse_owntracks(body, NOW).fix is not None
        return
    with pytest.raises(ProtocolError, match=f"^{field}"):
        parse_owntracks(body, NOW)


# --- Overland ---------------------------------------------------------------------------------


def feature(lon: float = 7.4, lat: float = 43.7, **properties: Any) -> dict[str, Any]:
    props = {"timestamp": "2023-11-14T22:13:20Z", **properties}
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def test_overland_batch_every_field() -> None:
    body = {
        "locations": [
            feature(
                speed=4.2,
                course=45,
                horizontal_accuracy=6,
                altitude=20,
                battery_level=0.8,
                device_id="phone",
            ),
            feature(lon=7.41, speed=-1, course=-1, horizontal_accuracy=-1, battery_level=-1),
        ]
    }
    report = parse_overland(body, NOW)
    assert report.identifier == "phone"
    assert report.indexes == [0, 1]
    assert report.rejected == []
    first, second = report.fixes
    assert (first.lat, first.lng, first.recorded_at, first.speed_mps) == (43.7, 7.4, T, 4.2)
    assert (first.heading_deg, first.accuracy_m, first.altitude_m) == (45, 6, 20)
    assert first.battery == pytest.approx(80)
    assert second.speed_mps is second.heading_deg is second.accuracy_m is second.battery is None
    assert first.source is Source.OVERLAND


def test_overland_keeps_good_points_and_lists_bad_ones() -> None:
    body = {
        "device_id": "phone",
        "locations": [
            feature(),
            "nonsense",
            feature(lat=95),
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7, 43]}},
            feature(timestamp="later"),
            feature(device_id="someone-else"),
            feature(lon=7.5),
        ],
    }
    report = parse_overland(body, NOW)
    assert report.identifier == "phone"
    assert report.indexes == [0, 6]
    assert [r.index for r in report.rejected] == [1, 2, 3, 4, 5]
    assert all(r.reason is Rejection.INVALID for r in report.rejected)
    assert "latitude" in report.rejected[1].message
    assert "properties" in report.rejected[2].message
    assert "timestamp" in report.rejected[3].message


def test_overland_altitude_from_coordinates() -> None:
    body = {"locations": [{**feature(), "geometry": {"type": "Point", "coordinates": [7, 43, 99]}}]}
    assert parse_overland(body, NOW).fixes[0].altitude_m == 99


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({}, "locations"),
        ({"locations": {}}, "locations"),
        ({"locations": [feature()] * (MAX_OVERLAND_POINTS + 1)}, "locations"),
        ({"locations": [], "device_id": 3.5}, "device_id"),
    ],
)
def test_overland_unreadable_batches(body: Any, field: str) -> None:
    with pytest.raises(ProtocolError, match=f"^{field}"):
        parse_overland(body, NOW)


@given(
    lat=st.floats(min_value=-90, max_value=90),
    lng=st.floats(min_value=-180, max_value=180),
    junk=st.one_of(st.none(), st.text(max_size=5), st.integers(), st.floats(), st.booleans()),
)
def test_overland_never_raises_on_a_bad_point(lat: float, lng: float, junk: object) -> None:
    body = {"locations": [feature(lng, lat), feature(speed=junk), {"geometry": junk}]}
    report = parse_overland(body, NOW)
    assert 0 in report.indexes
    assert all(math.isfinite(f.lat) for f in report.fixes)
    assert len(report.fixes) + len(report.rejected) == 3
