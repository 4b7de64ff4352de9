"""The fast msgspec reading of app fixes agrees with the pydantic schema of record: whatever
it accepts, FixIn accepts with the same values; whatever it refuses goes the careful way."""

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.locations.app_batch import to_fixes
from backend.locations.wire import body_fixes, message_fixes

RECEIVED = 1_795_000_000.0

numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-1000, max_value=1000),
    st.sampled_from([0, -0.0, 90, 90.0000001, -90, 180, -180.5, 100, 100.01, 359.99, 360, 1e308]),
    st.text(max_size=4),
    st.booleans(),
    st.none(),
)
fraction = st.integers(min_value=0, max_value=9).flatmap(
    lambda n: st.text("0123456789", min_size=n, max_size=n).map(lambda d: f".{d}" if d else "")
)
zone = st.sampled_from(["Z", "+00:00", "z", "-05:30", "+14:00", "", "+0100", " UTC"])
iso_times = st.builds(
    lambda d, sep, frac, tz: f"{d.isoformat()}{sep}10:{d.day:02d}:59{frac}{tz}",
    st.dates(),
    st.sampled_from(["T", " ", "t", "_"]),
    fraction,
    zone,
)
times = st.one_of(
    st.integers(min_value=0, max_value=2_000_000_000),
    st.text(max_size=30),
)
VALID = {
    "speed_mps": st.floats(0, 1e6),
    "heading_deg": st.floats(0, 360, exclude_max=True),
    "accuracy_m": st.floats(0, 1e6),
    "altitude_m": st.floats(-1e5, 1e5),
    "battery": st.floats(0, 100),
}


EDGES = {
    "lat": [90, -90, 90.0000001, -90.0000001, -0.0],
    "lng": [180, -180, 180.0000001, -180.0000001],
    "speed_mps": [0, -0.0, -1e-9, 1e308],
    "heading_deg": [0, 360, 359.9999999, -1e-9],
    "accuracy_m": [0, -1e-9, 1e308],
    "altitude_m": [-1e308, 1e308, 0],
    "battery": [0, 100, 100.0000001, -1e-9],
}


def edge(name: str) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(EDGES[name]), numbers)


def mostly(draw: st.DrawFn, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
    """A valid value most of the time, so many batches are valid as a whole."""
    return draw(bad if draw(st.integers(0, 5)) == 5 else good)


@st.composite
def items(draw: st.DrawFn) -> Any:
    item: dict[str, Any] = {
        "lat": mostly(draw, st.floats(-90, 90), edge("lat")),
        "lng": mostly(draw, st.floats(-180, 180), edge("lng")),
        "recorded_at": mostly(draw, iso_times, times),
    }
    for name, good in VALID.items():
        if draw(st.booleans()):
            item[name] = mostly(draw, good, edge(name))
    if draw(st.integers(0, 30)) == 30:
        item["extra"] = 1
    if draw(st.integers(0, 30)) == 30:
        del item["lat"]
    return item


def careful(batch: list[Any]) -> tuple[list[tuple[float, ...]], int]:
    _, fixes, rejected = to_fixes(batch, RECEIVED)
    return [_values(f) for f in fixes], len(rejected)


def _values(fix: Any) -> tuple[Any, ...]:
    return (
        fix.lat,
        fix.lng,
        fix.recorded_at,
        fix.received_at,
        fix.speed_mps,
        fix.heading_deg,
        fix.accuracy_m,
        fix.altitude_m,
        fix.battery,
        fix.source,
    )


@settings(max_examples=1000, deadline=None)
@given(st.lists(items(), max_size=3))
def test_what_the_fast_way_accepts_the_schema_accepts_with_the_same_values(
    batch: list[Any],
) -> None:
    fast = body_fixes(orjson.dumps(batch), RECEIVED)
    if fast is None:
        return  # the route then reads it with FixIn, as before
    values, rejected = careful(batch)
    assert rejected == 0
    assert [_values(f) for f in fast] == values


def test_a_clean_batch_takes_the_fast_way_in_every_form() -> None:
    batch = [
        {"lat": 43.73124567891, "lng": 7.4212345678, "recorded_at": "2026-11-21T10:00:00.123Z"},
        {"lat": 43.71, "lng": 7.42, "recorded_at": "2026-11-21T11:00:01+01:00", "battery": 80},
    ]
    expected, _ = careful(batch)
    for raw in (orjson.dumps(batch), orjson.dumps({"fixes": batch})):
        fast = body_fixes(raw, RECEIVED)
        assert fast is not None
        assert [_values(f) for f in fast] == expected
    read = message_fixes(orjson.dumps({"type": "fixes", "id": 7, "fixes": batch}).decode(), 0)
    assert read is not None
    assert read[0] == 7
    assert len(read[1]) == 2


def test_everything_unusual_goes_the_careful_way() -> None:
    fix = {"lat": 43.7, "lng": 7.42, "recorded_at": "2026-11-21T10:00:00Z"}
    for batch in (
        [fix, {**fix, "lat": 91}],  # one bad fix: the careful way names it
        [{**fix, "lat": "43.7"}],  # a number as text: FixIn reads it, msgspec does not
        [{**fix, "recorded_at": 1_795_000_000}],  # an epoch
        [{**fix, "recorded_at": "2026-11-21T10:00:00"}],  # no time zone
        [{**fix, "recorded_at": "2026-11-21T10:00:00.1234567Z"}],  # sub-microsecond
        [{**fix, "colour": "red"}],
        [fix] * 501,
    ):
        assert body_fixes(orjson.dumps(batch), RECEIVED) is None
    assert body_fixes(orjson.dumps(fix), RECEIVED) is None  # one object: careful way
    assert body_fixes(b'[{"lat": NaN, "lng": 1, "recorded_at": "x"}]', RECEIVED) is None
    huge = b'[{"lat": 1, "lng": 1, "recorded_at": "2026-11-21T10:00:00Z", "altitude_m": 1e999}]'
    assert body_fixes(huge, RECEIVED) is None
    assert message_fixes('{"type": "ping"}', RECEIVED) is None
    assert message_fixes('{"type": "fixes", "fixes": [' + orjson.dumps(fix).decode(), 0) is None


def test_every_limit_is_where_the_schema_puts_it() -> None:
    base = {"lat": 43.7, "lng": 7.42, "recorded_at": "2026-11-21T10:00:00Z"}
    for name, values in EDGES.items():
        for value in values:
            batch = [{**base, name: value}]
            fast = body_fixes(orjson.dumps(batch), RECEIVED)
            expected, rejected = careful(batch)
            if fast is None:
                assert rejected == 1, f"{name}={value}: schema accepts, fast way refuses"
            else:
                assert rejected == 0, f"{name}={value}: fast way accepts, schema refuses"
                assert [_values(f) for f in fast] == expected
