"""The cleaning chain, step by step and as a whole (pure; no server)."""

import math

from hypothesis import given
from hypothesis import strategies as st

from backend.locations.cleaning import CleaningConfig, clean
from backend.locations.current import micros
from backend.locations.fix import Fix, Rejection

NOW = 1_900_000_000.0
CONFIG = CleaningConfig(max_clock_skew_s=60, max_age_s=3600, max_accuracy_m=100, max_speed_mps=70)


def fix(t: float = NOW - 10, lat: float = 43.73, lng: float = 7.42, **kw: float) -> Fix:
    return Fix(lat=lat, lng=lng, recorded_at=t, received_at=NOW, **kw)  # type: ignore[arg-type]


def reasons(fixes: list[Fix], last: Fix | None = None) -> list[str | None]:
    cleaned = clean(fixes, last, NOW, CONFIG)
    out: list[str | None] = [None] * len(fixes)
    for r in cleaned.rejected:
        out[r.index] = r.reason.value
    return out


def test_each_reason_is_named() -> None:
    cases = {
        Rejection.INVALID: [fix(lat=math.nan), fix(lat=91), fix(lng=-181), fix(t=math.inf)],
        Rejection.ZERO: [fix(lat=0.0, lng=0.0)],
        Rejection.FUTURE: [fix(t=NOW + 61)],
        Rejection.TOO_OLD: [fix(t=NOW - 3601)],
        Rejection.POOR_ACCURACY: [fix(accuracy_m=150)],
    }
    for reason, fixes in cases.items():
        for f in fixes:
            assert reasons([f]) == [reason.value], (reason, f)
    assert reasons([fix(t=NOW + 59), fix(t=NOW - 3599), fix(t=NOW - 5, accuracy_m=100)]) == [
        None,
        None,
        None,
    ]


def test_duplicates_within_a_batch_and_against_the_current_position() -> None:
    assert reasons([fix(t=NOW - 5), fix(t=NOW - 5)]) == [None, "duplicate"]
    assert reasons([fix(t=NOW - 5)], last=fix(t=NOW - 5)) == ["duplicate"]
    cleaned = clean([fix(t=NOW - 5), fix(t=NOW - 4)], None, NOW, CONFIG, seen={micros(NOW - 4)})
    assert [(r.index, r.reason) for r in cleaned.rejected] == [(1, Rejection.DUPLICATE)]


def test_impossible_speed_between_consecutive_fixes_in_time_order() -> None:
    # 0.01° of latitude is ~1112 m: in 10 s that is 111 m/s.
    jump = fix(t=NOW - 10, lat=43.74)
    assert reasons([fix(t=NOW - 20), jump]) == [None, "impossible_speed"]
    assert reasons([jump, fix(t=NOW - 20)]) == ["impossible_speed", None]  # sorted by time
    assert reasons([jump], last=fix(t=NOW - 20)) == ["impossible_speed"]
    assert reasons([fix(t=NOW - 10, lat=43.7301)], last=fix(t=NOW - 20)) == [None]  # 11 m/s
    # The rejected jump is not the reference for the next fix.
    assert reasons([fix(t=NOW - 20), jump, fix(t=NOW - 5, lat=43.7302)]) == [
        None,
        "impossible_speed",
        None,
    ]


def test_out_of_order_fixes_are_history_only() -> None:
    last = fix(t=NOW - 10)
    cleaned = clean([fix(t=NOW - 30), fix(t=NOW - 5), fix(t=NOW - 20)], last, NOW, CONFIG)
    assert not cleaned.rejected
    assert [a.history_only for a in cleaned.accepted] == [True, False, True]
    assert cleaned.newest is not None
    assert cleaned.newest.index == 1
    only_old = clean([fix(t=NOW - 30)], last, NOW, CONFIG)
    assert only_old.newest is None


def test_a_mixed_batch_keeps_the_senders_indexes() -> None:
    batch = [fix(t=NOW - 9), fix(lat=0, lng=0), fix(t=NOW - 8), fix(accuracy_m=999)]
    cleaned = clean(batch, None, NOW, CONFIG)
    assert [a.index for a in cleaned.accepted] == [0, 2]
    assert [(r.index, r.reason.value) for r in cleaned.rejected] == [
        (1, "zero"),
        (3, "poor_accuracy"),
    ]
    assert all(r.message for r in cleaned.rejected)


coordinates = st.floats(allow_nan=True, allow_infinity=True)


@given(st.lists(st.tuples(coordinates, coordinates, st.floats(NOW - 7200, NOW + 120)), max_size=30))
def test_every_fix_is_accepted_or_rejected_once_and_accepted_ones_are_sane(
    raw: list[tuple[float, float, float]],
) -> None:
    batch = [fix(t=t, lat=lat, lng=lng) for lat, lng, t in raw]
    cleaned = clean(batch, None, NOW, CONFIG)
    indexes = [a.index for a in cleaned.accepted] + [r.index for r in cleaned.rejected]
    assert sorted(indexes) == list(range(len(batch)))
    assert [a.index for a in cleaned.accepted] == sorted(a.index for a in cleaned.accepted)
    assert all(a.fix is batch[a.index] for a in cleaned.accepted)  # in the sender's order
    times = [a.fix.recorded_at for a in cleaned.accepted]
    assert len(set(times)) == len(times)
    for a in cleaned.accepted:
        assert -90 <= a.fix.lat <= 90
        assert -180 <= a.fix.lng <= 180
        assert NOW - 3600 <= a.fix.recorded_at <= NOW + 60
        assert (a.fix.lat, a.fix.lng) != (0, 0)


@given(st.lists(st.floats(NOW - 3000, NOW), min_size=1, max_size=20), st.floats(NOW - 3000, NOW))
def test_the_current_position_never_moves_backwards(times: list[float], current: float) -> None:
    last = fix(t=current)
    cleaned = clean([fix(t=t) for t in times], last, NOW, CONFIG)
    for a in cleaned.accepted:
        assert a.history_only == (a.fix.recorded_at < current)
    if cleaned.newest is not None:
        assert cleaned.newest.fix.recorded_at > current


def _by_the_steps(batch: list[Fix], last: Fix | None, seen: set[int]) -> list[str | None]:
    """Each fix's fate when every fix goes through the seven named steps (the reference)."""
    from backend.locations import cleaning

    quick = cleaning._plainly_fine
    cleaning._plainly_fine = lambda *args: False
    try:
        cleaned = clean(batch, last, NOW, CONFIG, seen)
    finally:
        cleaning._plainly_fine = quick
    out: list[str | None] = [None] * len(batch)
    for r in cleaned.rejected:
        out[r.index] = r.reason.value
    return out


optional = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))


@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(43.6, 43.8), coordinates),
            st.one_of(st.floats(7.3, 7.5), coordinates),
            st.one_of(st.floats(NOW - 4000, NOW + 100), st.floats()),
            optional,
            optional,
            st.one_of(st.none(), st.floats(-10, 300), st.floats()),
            optional,
            optional,
        ),
        max_size=12,
    ),
    st.one_of(st.none(), st.floats(NOW - 4000, NOW)),
    st.sets(st.floats(NOW - 4000, NOW), max_size=3),
)
def test_the_quick_check_of_ordinary_fixes_agrees_with_the_named_steps(
    raw: list[
        tuple[
            float,
            float,
            float,
            float | None,
            float | None,
            float | None,
            float | None,
            float | None,
        ]
    ],
    current: float | None,
    seen: set[float],
) -> None:
    """Most fixes pass one inlined check instead of seven steps; every fix gets the same
    answer (and reason) as when each goes through the steps."""
    batch = [
        Fix(lat, lng, t, NOW, speed, heading, accuracy, altitude, battery)
        for lat, lng, t, speed, heading, accuracy, altitude, battery in raw
    ]
    last = fix(t=current) if current is not None else None
    recent = {micros(t) for t in seen}
    cleaned = clean(batch, last, NOW, CONFIG, recent)
    got: list[str | None] = [None] * len(batch)
    for r in cleaned.rejected:
        got[r.index] = r.reason.value
    assert got == _by_the_steps(batch, last, recent)


def test_ordinary_fixes_are_checked_in_one_step() -> None:
    """The quick check really is what an ordinary batch goes through (not the seven steps)."""
    from backend.locations import cleaning

    ordinary = [
        fix(t=NOW - 10 + k, lat=43.73 + k * 1e-5, accuracy_m=5.0, speed_mps=3.0) for k in range(10)
    ]
    calls = 0
    original = cleaning._refusal

    def counting(f: Fix, ctx: cleaning.Context) -> tuple[Rejection, str] | None:
        nonlocal calls
        calls += 1
        return original(f, ctx)

    cleaning._refusal = counting  # type: ignore[assignment]
    try:
        cleaned = clean(ordinary, fix(t=NOW - 20), NOW, CONFIG)
        assert len(cleaned.accepted) == 10
        assert calls == 0
        clean([fix(lat=0.0, lng=0.0)], None, NOW, CONFIG)
        assert calls == 1
    finally:
        cleaning._refusal = original
