"""The live map's pure parts: colours, ages, headings, stop order and the coalescer."""

from datetime import UTC, datetime, timedelta

from dispatcher_app.logic.fleet_map import (
    STALE_AFTER_S,
    Coalescer,
    Position,
    Tone,
    arrow_turns,
    driver_tone,
    fit_points,
    merge,
    parse_positions,
    route_stops,
    seen_ago,
    stop_time,
    stop_tone,
)
from shared.enums import DriverStatus, OrderStatus, StopKind
from shared.schemas.orders import StopOut

NOW = datetime(2031, 3, 14, 9, 0, tzinfo=UTC)


def at(seconds_ago: float) -> datetime:
    return NOW - timedelta(seconds=seconds_ago)


def fix(driver_id: int, seconds_ago: float, lat: float = 43.7) -> Position:
    return Position(driver_id, lat, 7.4, at(seconds_ago))


def stop(stop_id: int, sequence: int | None, **extra: object) -> StopOut:
    fields: dict[str, object] = {
        "id": stop_id,
        "order_id": stop_id * 10,
        "kind": StopKind.DROPOFF,
        "address": f"{stop_id} Rue",
        "lat": 43.7,
        "lng": 7.4,
        "window_start": None,
        "window_end": None,
        "service_time_s": 60,
        "route_id": 1,
        "sequence": sequence,
        "planned_arrival_at": None,
        "actual_arrival_at": None,
        "actual_departure_at": None,
    }
    fields.update(extra)
    return StopOut.model_validate(fields)


def test_seen_ago_reads_like_a_person_would_say_it() -> None:
    assert seen_ago(at(12.4), NOW) == "12 s ago"
    assert seen_ago(at(5 * 60 + 30), NOW) == "5 min ago"
    assert seen_ago(at(3 * 3600), NOW) == "3 h ago"
    assert seen_ago(at(2 * 86_400), NOW) == "2 d ago"
    assert seen_ago(None, NOW) == "never seen"
    assert seen_ago(NOW + timedelta(seconds=3), NOW) == "0 s ago"  # a phone clock ahead


def test_drivers_take_their_status_colour_until_they_go_quiet() -> None:
    assert driver_tone(DriverStatus.EN_ROUTE, at(5), NOW) is Tone.MOVING
    assert driver_tone(DriverStatus.DELIVERING, at(5), NOW) is Tone.WORKING
    assert driver_tone(DriverStatus.ON_BREAK, at(5), NOW) is Tone.PAUSED
    assert driver_tone(DriverStatus.EN_ROUTE, at(STALE_AFTER_S + 1), NOW) is Tone.STALE
    assert driver_tone(DriverStatus.EN_ROUTE, None, NOW) is Tone.STALE


def test_stops_take_their_orders_colour() -> None:
    assert stop_tone(OrderStatus.DELIVERED) is Tone.DONE
    assert stop_tone(OrderStatus.FAILED) is Tone.TROUBLE
    assert stop_tone(OrderStatus.ASSIGNED) is Tone.WAITING
    assert stop_tone(None) is Tone.WAITING
    assert {stop_tone(s) for s in OrderStatus} <= set(Tone)  # every status has a colour


def test_the_arrow_points_where_the_driver_heads() -> None:
    assert arrow_turns(None) == 0.0
    assert arrow_turns(90) == 0.25
    assert arrow_turns(450) == 0.25


def test_route_stops_follow_the_sequence_unsequenced_last() -> None:
    stops = [stop(1, None), stop(2, 2), stop(3, 0), stop(4, 1)]
    assert [s.id for s in route_stops(stops)] == [3, 4, 2, 1]


def test_the_card_shows_the_live_eta_else_the_plan() -> None:
    planned = NOW + timedelta(hours=1)
    live = NOW + timedelta(hours=2)
    assert stop_time(stop(1, 0, planned_arrival_at=planned)) == planned
    assert stop_time(stop(1, 0, planned_arrival_at=planned, eta_at=live)) == live
    assert stop_time(stop(1, 0)) is None


def test_parse_positions_skips_what_it_cannot_read() -> None:
    frame = {
        "type": "positions",
        "positions": [
            {
                "driver_id": 7,
                "lat": 43.7,
                "lng": 7.4,
                "recorded_at": NOW.isoformat(),
                "speed_mps": 3,
                "heading_deg": 180,
            },
            {"driver_id": 8, "lat": "x", "lng": 7.4, "recorded_at": NOW.isoformat()},
            {"lat": 1, "lng": 2},
        ],
    }
    [p] = parse_positions(frame)
    assert (p.driver_id, p.heading_deg, p.speed_mps, p.recorded_at) == (7, 180.0, 3.0, NOW)
    assert parse_positions({"type": "positions"}) == []


def test_the_coalescer_keeps_the_latest_fix_per_driver() -> None:
    coalescer = Coalescer()
    for i in range(50):  # fifty frames of 500 drivers each
        coalescer.add(fix(d, 50 - i, lat=43 + i) for d in range(500))
    coalescer.add([fix(1, 999)])  # late, older: ignored
    assert coalescer.frames == 51
    assert len(coalescer) == 500
    pending = coalescer.take()
    assert pending[1].lat == 43 + 49
    assert len(coalescer) == 0
    assert coalescer.take() == {}


def test_merge_counts_only_drivers_that_moved_on() -> None:
    current = {1: fix(1, 10), 2: fix(2, 10)}
    merged, changed = merge(current, {1: fix(1, 5), 2: fix(2, 20), 3: fix(3, 1)})
    assert changed == 2
    assert merged[1].recorded_at == at(5)
    assert merged[2].recorded_at == at(10)
    assert current[1].recorded_at == at(10)  # the input is left alone


def test_fit_points_is_the_box_around_everything() -> None:
    assert fit_points([]) == []
    assert fit_points([(1, 5), (3, 2), (2, 4)]) == [(1, 2), (3, 5)]
