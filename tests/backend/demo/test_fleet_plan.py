"""The demo fleet's pure decisions: who fails and why, what is left to drive, the clock."""

import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from backend.demo.fleet_plan import (
    FAILURES,
    PlayClock,
    StopTodo,
    choose_failures,
    driver_path,
    failure_for,
    forward_path,
    next_day_window,
    plan_for,
    stops_to_drive,
)
from backend.demo.proofs import Handover, handover
from backend.simulator.gps import Fix
from shared.enums import OrderStatus, ProofType, StopKind
from shared.geo import Point
from shared.schemas.fleet import RouteOut
from shared.schemas.orders import OrderOut, StopOut

S = OrderStatus
NOW = datetime(2026, 6, 2, 9, 30, tzinfo=UTC)


def _stop(order_id: int, sequence: int, kind: StopKind = StopKind.DROPOFF) -> StopOut:
    return StopOut(
        id=order_id * 10 + (kind is StopKind.PICKUP),
        order_id=order_id,
        kind=kind,
        address=f"{order_id} Rue Grimaldi",
        lat=43.73 + order_id / 1000,
        lng=7.42,
        window_start=None,
        window_end=None,
        service_time_s=90 + order_id,
        route_id=1,
        sequence=sequence,
        planned_arrival_at=None,
        actual_arrival_at=None,
        actual_departure_at=None,
    )


def _order(order_id: int, status: OrderStatus = S.ASSIGNED, **more: Any) -> OrderOut:
    values: dict[str, Any] = {
        "id": order_id,
        "org_id": 1,
        "reference": f"DEMO-{order_id}",
        "status": status,
        "recipient_name": "Rita Recipient",
        "recipient_phone": None,
        "recipient_email": None,
        "weight_kg": 1.0,
        "volume_m3": 0.0,
        "priority": 0,
        "required_proofs": [],
        "notes": "",
        "instructions": "",
        "driver_id": 7,
        "barcodes": [],
        "stops": [_stop(order_id, 0)],
        "created_at": NOW,
        "updated_at": NOW,
    }
    return OrderOut(**(values | more))


def _route(stops: list[StopOut]) -> RouteOut:
    return RouteOut(
        id=1,
        org_id=1,
        driver_id=7,
        vehicle_id=None,
        service_date=NOW.date(),
        status="published",
        planned_start_at=None,
        planned_end_at=None,
        actual_start_at=None,
        actual_end_at=None,
        stops=stops,
    )


# --- who fails --------------------------------------------------------------------------
def test_the_share_of_failures_is_rounded_up_and_drawn_by_the_seed() -> None:
    ids = list(range(100, 124))  # the demo's 24 orders
    assert len(choose_failures(ids, 0.06, seed=0)) == 2  # 1.44, rounded up
    assert len(choose_failures(ids[:5], 0.06, seed=0)) == 1  # a share above zero fails one
    assert choose_failures(ids, 0.0, seed=0) == frozenset()
    assert choose_failures(ids, 1.0, seed=0) == frozenset(ids)
    assert choose_failures(ids, 0.25, seed=1) == choose_failures(reversed(ids), 0.25, seed=1)
    draws = {choose_failures(ids, 0.25, seed=s) for s in range(5)}
    assert len(draws) > 1  # another seed, other deliveries
    with pytest.raises(ValueError, match="share"):
        choose_failures(ids, 1.5, seed=0)


def test_a_failure_has_a_stable_reason_and_a_note() -> None:
    reasons = Counter(failure_for(i, seed=0)[0] for i in range(400))
    assert set(reasons) == {reason for reason, _ in FAILURES}
    assert failure_for(17, seed=2) == failure_for(17, seed=2)
    assert all(note for _, note in FAILURES)


# --- what is left to drive ----------------------------------------------------------------
def test_finished_stops_are_skipped_and_the_rest_kept_in_route_order() -> None:
    stops = [_stop(3, 2), _stop(1, 0), _stop(2, 1), _stop(4, 3), _stop(5, 4), _stop(6, 5)]
    orders = {
        1: _order(1, S.DELIVERED),
        2: _order(2, S.ARRIVING),
        3: _order(3, S.EN_ROUTE),
        4: _order(4, S.FAILED),
        5: _order(5, S.RESCHEDULED),
        # 6: no longer the driver's (not listed for them)
    }
    todo = stops_to_drive(_route(stops), orders)
    assert [t.order.id for t in todo] == [2, 3]
    assert todo[0].point == Point(43.732, 7.42)


def test_a_done_pickup_is_skipped_while_its_dropoff_is_still_to_do() -> None:
    pickup, dropoff = _stop(8, 0, StopKind.PICKUP), _stop(8, 1)
    picked = _order(8, S.PICKED_UP, stops=[pickup, dropoff])
    todo = stops_to_drive(_route([pickup, dropoff]), {8: picked})
    assert [(t.stop.kind, t.pickup) for t in todo] == [(StopKind.DROPOFF, False)]
    fresh = _order(8, S.ASSIGNED, stops=[pickup, dropoff])
    assert len(stops_to_drive(_route([pickup, dropoff]), {8: fresh})) == 2


def test_the_plan_starts_where_the_driver_is_and_serves_each_stop() -> None:
    todo = [StopTodo(_stop(i, i), _order(i)) for i in (1, 2)]
    plan = plan_for(7, Point(43.7347, 7.4206), todo, NOW)
    assert plan.waypoints == [Point(43.7347, 7.4206), todo[0].point, todo[1].point]
    assert plan.service_times_s == [91.0, 92.0]
    assert plan.end is None
    with pytest.raises(ValueError, match="stop"):
        plan_for(7, Point(43.7, 7.4), [], NOW)


# --- the order's way ---------------------------------------------------------------------
def test_the_driver_takes_an_order_through_the_lifecycle_as_the_app_does() -> None:
    assert driver_path(S.ASSIGNED, S.ARRIVING, pickup=False) == [S.EN_ROUTE, S.ARRIVING]
    assert driver_path(S.ASSIGNED, S.PICKED_UP, pickup=True) == [
        S.EN_ROUTE_TO_PICKUP,
        S.PICKED_UP,
    ]
    assert driver_path(S.ARRIVING, S.ARRIVING, pickup=False) == []
    with pytest.raises(ValueError, match="cannot"):
        driver_path(S.CREATED, S.DELIVERED, pickup=False)


def test_setting_off_never_takes_an_arriving_order_back() -> None:
    assert forward_path(S.ARRIVING, S.EN_ROUTE, pickup=False) == []
    assert forward_path(S.EN_ROUTE, S.EN_ROUTE, pickup=False) == []
    assert forward_path(S.DELIVERED, S.ARRIVING, pickup=False) == []
    assert forward_path(S.ASSIGNED, S.EN_ROUTE, pickup=False) == [S.EN_ROUTE]
    assert forward_path(S.EN_ROUTE, S.ARRIVING, pickup=False) == [S.ARRIVING]


# --- dispatch's new window -----------------------------------------------------------------
def test_a_rescheduled_delivery_keeps_its_hours_on_the_next_day() -> None:
    start, end = NOW.replace(hour=9, minute=0), NOW.replace(hour=11, minute=0)
    assert next_day_window(start, end, NOW) == (start + timedelta(days=1), end + timedelta(days=1))
    old = start - timedelta(days=3)  # a demo restarted days later: still after today
    moved, _ = next_day_window(old, old + timedelta(hours=2), NOW)
    assert moved == start + timedelta(days=1)
    assert next_day_window(None, None, NOW) == (
        datetime(2026, 6, 3, 9, tzinfo=UTC),
        datetime(2026, 6, 3, 11, tzinfo=UTC),
    )


# --- the clock -----------------------------------------------------------------------------
def test_the_clock_runs_speed_times_faster_and_stamps_fixes_in_real_time() -> None:
    clock = PlayClock(NOW, speed=10.0)
    assert clock.real_at(600.0) == NOW + timedelta(seconds=60)
    assert clock.sim_s(NOW + timedelta(seconds=6)) == pytest.approx(60.0)
    fix = Fix(43.73, 7.42, NOW + timedelta(hours=3), 8.5, 91.0, 6.0, 40.0, 88.0)
    sent = clock.fix_in(fix, 300.0)
    assert sent.recorded_at == NOW + timedelta(seconds=30)
    assert (sent.lat, sent.lng, sent.speed_mps, sent.heading_deg) == (43.73, 7.42, 8.5, 91.0)
    with pytest.raises(ValueError, match="speed"):
        PlayClock(NOW, speed=0.0)


# --- the proof -----------------------------------------------------------------------------
def test_the_driver_hands_in_every_proof_the_order_requires() -> None:
    plain = handover(_order(1))
    assert isinstance(plain, Handover)
    assert len(plain.photos) == 1
    photo = Image.open(io.BytesIO(plain.photos[0]))
    assert (photo.format, photo.size) == ("JPEG", (320, 240))
    assert plain.signature_png is None
    assert plain.recipient_name is None

    required = [ProofType.SIGNATURE, ProofType.BARCODE, ProofType.AGE_CHECK]
    full = handover(_order(2, required_proofs=required, barcodes=["PKG-1", "PKG-2"]))
    assert isinstance(full, Handover)
    assert full.signature_png is not None
    signature = Image.open(io.BytesIO(full.signature_png))
    assert signature.format == "PNG"
    assert signature.getextrema()[0] == 0  # a line was drawn
    assert full.recipient_name == "Rita Recipient"
    assert full.barcodes == ["PKG-1", "PKG-2"]
    assert full.age_checked


def test_a_delivery_needing_a_pin_or_unlisted_parcels_cannot_be_made() -> None:
    assert "PIN" in str(handover(_order(3, required_proofs=[ProofType.PIN])))
    assert "no parcels" in str(handover(_order(4, required_proofs=[ProofType.BARCODE])))
