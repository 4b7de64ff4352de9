"""The demo's fleet and its day of orders, as data: pure (no I/O), deterministic.

The orders' time windows are laid out from the moment the demo starts (two-hour windows
opening every half hour from the next full hour, over about six hours), so the day is live
whenever someone runs it. Points fall inside Monaco's streets: each candidate is offered to
``snap`` (the road network's nearest road point), and one far from every road is drawn again.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.enums import ProofType
from shared.schemas.common import TimeWindow
from shared.schemas.orders import OrderCreate, StopIn

DEPOT = ("Port Hercule depot", "Quai Antoine 1er, Monaco", 43.7347, 7.4206)
# Monaco's streets, roughly: orders fall inside this box (lat, lng).
AREA = ((43.7270, 7.4090), (43.7500, 7.4370))
STREETS = [
    "Boulevard des Moulins",
    "Avenue de la Costa",
    "Rue Grimaldi",
    "Boulevard Albert 1er",
    "Avenue Princesse Grace",
    "Rue Princesse Caroline",
    "Boulevard d'Italie",
    "Rue de Millo",
    "Avenue Saint-Charles",
    "Boulevard de Suisse",
    "Rue Bosio",
    "Avenue Hector Otto",
]
NAMES = [
    "Amélie Laurent",
    "Marco Rossi",
    "Sofia Ferrari",
    "Louis Martin",
    "Chloé Bernard",
    "Luca Bianchi",
    "Emma Dubois",
    "Nina Moreau",
    "Hugo Lefèvre",
    "Giulia Romano",
    "Léa Fontaine",
    "Paolo Greco",
]
FRIDGE = "fridge"
LARGE = "large_parcels"
ORDERS_PER_DAY = 150
WINDOW = timedelta(hours=2)
WINDOW_STEP = timedelta(minutes=30)
WINDOW_STARTS = 9  # the last window opens 4 h after the first and closes 6 h after it
MAX_SNAP_M = 60.0  # a candidate farther than this from a road is drawn again
# (lat, lng) -> (the road point, metres to it), or None where there is no road network.
Snap = Callable[[float, float], tuple[tuple[float, float], float] | None]


@dataclass(frozen=True, slots=True)
class DemoVehicle:
    name: str
    capacity_weight_kg: float
    capacity_volume_m3: float
    skills: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DemoDriver:
    email: str
    name: str
    phone: str
    vehicle: DemoVehicle


def _van(n: int, *skills: str) -> DemoVehicle:
    return DemoVehicle(f"Van {n}", 900.0, 6.0, skills)


def _bike(n: int) -> DemoVehicle:
    return DemoVehicle(f"Cargo bike {n}", 80.0, 0.4, ())


FLEET: tuple[tuple[str, DemoVehicle], ...] = (
    ("Jonas Weber", _van(1, LARGE)),
    ("Maya Costa", _van(2, FRIDGE)),
    ("Ali Haddad", _bike(1)),
    ("Sara Lind", _van(3, LARGE)),
    ("Théo Garnier", _van(4)),
    ("Irene Conti", _van(5, FRIDGE, LARGE)),
    ("Omar Benali", _van(6)),
    ("Lucie Roux", _bike(2)),
    ("Matteo Gallo", _van(7, LARGE)),
    ("Anna Novak", _van(8, FRIDGE)),
    ("Pierre Blanc", _van(9)),
    ("Elena Vidal", _van(10, LARGE)),
)


def driver_email(n: int) -> str:
    """``driver1@demo.lastmile.test`` for n = 1."""
    return f"driver{n}@demo.lastmile.test"


def demo_drivers() -> list[DemoDriver]:
    """The twelve drivers, each with a vehicle: vans (some with a fridge or room for large
    parcels) and two cargo bikes of small capacity."""
    return [
        DemoDriver(driver_email(i + 1), name, f"+377 6 00 00 {i:02d}", vehicle)
        for i, (name, vehicle) in enumerate(FLEET)
    ]


def first_window_start(now: datetime) -> datetime:
    """The next full hour after ``now``."""
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def day_end(now: datetime) -> datetime:
    """When the last window of a day started at ``now`` closes."""
    return first_window_start(now) + (WINDOW_STARTS - 1) * WINDOW_STEP + WINDOW


def reference_prefix(day: date) -> str:
    return f"DEMO-{day:%y%m%d}-"


def _point(rng: random.Random, snap: Snap | None) -> tuple[float, float]:
    (lat0, lng0), (lat1, lng1) = AREA
    candidate = (lat0, lng0)
    for _ in range(100):
        candidate = (round(rng.uniform(lat0, lat1), 6), round(rng.uniform(lng0, lng1), 6))
        if snap is None:
            return candidate
        found = snap(*candidate)
        if found is not None and found[1] <= MAX_SNAP_M:
            (lat, lng), _ = found
            return round(lat, 6), round(lng, 6)
    return candidate


def day_orders(
    now: datetime, *, count: int = ORDERS_PER_DAY, snap: Snap | None = None, seed: int = 20261121
) -> list[OrderCreate]:
    """``count`` orders for the day that starts at ``now`` (an aware datetime).

    Every order wants a photo, one in four a signature too; one in ten needs a fridge and
    one in ten is a large parcel (heavy and bulky, for the vans that take them); one in
    eleven has priority. The same ``now``'s day, seed and road network give the same orders.
    """
    day = now.date()
    rng = random.Random(f"{seed}-{day.isoformat()}")
    first = first_window_start(now)
    prefix = reference_prefix(day)
    out = []
    for n in range(count):
        start = first + (n % WINDOW_STARTS) * WINDOW_STEP
        lat, lng = _point(rng, snap)
        skills = [FRIDGE] if n % 10 == 3 else [LARGE] if n % 10 == 7 else []
        large = LARGE in skills
        weight = rng.uniform(25, 60) if large else rng.uniform(0.5, 12)
        volume = rng.uniform(0.3, 0.8) if large else rng.uniform(0.005, 0.06)
        proofs = [ProofType.PHOTO] + ([ProofType.SIGNATURE] if n % 4 == 0 else [])
        out.append(
            OrderCreate(
                reference=f"{prefix}{n + 1:03d}",
                dropoff=StopIn(
                    address=f"{rng.randint(1, 40)} {rng.choice(STREETS)}, Monaco",
                    lat=lat,
                    lng=lng,
                    time_window=TimeWindow(start=start, end=start + WINDOW),
                    service_time_s=rng.choice([60, 120, 180]),
                ),
                recipient_name=NAMES[n % len(NAMES)],
                recipient_phone=f"+377 93 {n // 100:02d} {n % 100:02d} {n % 97:02d}",
                weight_kg=round(weight, 1),
                volume_m3=round(volume, 3),
                priority=5 if n % 11 == 0 else 0,
                required_proofs=proofs,
                required_skills=skills,
                instructions="Ring twice; leave with the concierge if out." if n % 3 == 0 else "",
                barcodes=[f"LM{day:%y%m%d}{n + 1:05d}"],
            )
        )
    return out
