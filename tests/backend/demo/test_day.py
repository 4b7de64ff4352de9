"""The demo's day as data: the fleet, the orders' windows, points on roads, repeatability."""

from datetime import UTC, datetime, timedelta

from backend.demo.day import (
    AREA,
    FRIDGE,
    LARGE,
    day_end,
    day_orders,
    demo_drivers,
    first_window_start,
)
from backend.demo.launcher import demo_max_speed_mps
from backend.demo.planning import stops_cap
from shared.enums import ProofType

NOW = datetime(2026, 12, 6, 14, 37, 12, tzinfo=UTC)


def test_the_fleet_is_twelve_drivers_with_vans_bikes_and_skills() -> None:
    drivers = demo_drivers()
    assert [d.email for d in drivers] == [f"driver{n}@demo.lastmile.test" for n in range(1, 13)]
    bikes = [d for d in drivers if "bike" in d.vehicle.name.lower()]
    vans = [d for d in drivers if d not in bikes]
    assert len(bikes) == 2
    assert len(vans) == 10
    assert all(
        b.vehicle.capacity_weight_kg < v.vehicle.capacity_weight_kg for b in bikes for v in vans
    )
    assert all(not b.vehicle.skills for b in bikes)
    assert sum(FRIDGE in v.vehicle.skills for v in vans) >= 2
    assert sum(LARGE in v.vehicle.skills for v in vans) >= 2
    assert len({d.vehicle.name for d in drivers}) == 12


def test_windows_open_from_the_next_hour_over_about_six_hours() -> None:
    orders = day_orders(NOW)
    assert len(orders) == 150
    first = first_window_start(NOW)
    assert first == datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
    windows = [o.dropoff.time_window for o in orders if o.dropoff and o.dropoff.time_window]
    assert len(windows) == 150
    assert min(w.start for w in windows) == first
    assert max(w.end for w in windows) == day_end(NOW) == first + timedelta(hours=6)
    assert all(w.end - w.start == timedelta(hours=2) for w in windows)


def test_orders_mix_proofs_skills_and_priorities_inside_monaco() -> None:
    orders = day_orders(NOW)
    (lat0, lng0), (lat1, lng1) = AREA
    assert all(
        o.dropoff and lat0 <= o.dropoff.lat <= lat1 and lng0 <= o.dropoff.lng <= lng1
        for o in orders
    )
    assert all(ProofType.PHOTO in o.required_proofs for o in orders)
    assert 20 <= sum(ProofType.SIGNATURE in o.required_proofs for o in orders) <= 60
    assert 10 <= sum(FRIDGE in o.required_skills for o in orders) <= 20
    large = [o for o in orders if LARGE in o.required_skills]
    assert 10 <= len(large) <= 20
    assert min(o.weight_kg for o in large) >= 25  # too heavy for a cargo bike's share
    assert any(o.priority > 0 for o in orders)
    assert any(o.priority == 0 for o in orders)
    refs = [o.reference for o in orders]
    assert len(set(refs)) == 150
    assert all(r and r.startswith("DEMO-261206-") for r in refs)


def test_same_day_same_orders_another_day_other_orders() -> None:
    assert day_orders(NOW) == day_orders(NOW + timedelta(minutes=5))
    later = day_orders(NOW + timedelta(days=1))
    assert [o.dropoff for o in later] != [o.dropoff for o in day_orders(NOW)]


def test_points_go_to_the_road_and_far_ones_are_drawn_again() -> None:
    asked: list[tuple[float, float]] = []

    def snap(lat: float, lng: float) -> tuple[tuple[float, float], float]:
        asked.append((lat, lng))
        far = len(asked) % 2 == 1  # every other candidate is 500 m from any road
        return (lat + 0.0001, lng), 500.0 if far else 10.0

    orders = day_orders(NOW, count=5, snap=snap)
    assert len(asked) == 10
    kept = asked[1::2]
    assert [(o.dropoff.lat, o.dropoff.lng) for o in orders if o.dropoff] == [
        (round(lat + 0.0001, 6), round(lng, 6)) for lat, lng in kept
    ]


def test_every_driver_gets_a_share_and_fast_fleets_are_allowed() -> None:
    assert stops_cap(150, 12) == 14  # 11 routes at least: drivers 2..12 all drive
    assert stops_cap(0, 0) == 1
    assert demo_max_speed_mps(70.0, 1.0) == 70.0
    assert demo_max_speed_mps(70.0, 30.0) == 2100.0
    assert demo_max_speed_mps(70.0, 0.5) == 70.0
