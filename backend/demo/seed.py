"""A small, deterministic demo data set in Monaco: a depot, drivers, vehicles, orders.

Idempotent: seeding an organisation that already exists changes nothing.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.auth.service import create_user, get_or_create_org
from backend.config import Settings
from backend.fleet import routes_service
from backend.models import Depot, Driver, Organization, Stop, TrackingLink, Vehicle
from backend.orders import service as orders
from backend.orders import transitions
from backend.tracking_links import service as links
from shared.enums import DriverStatus, OrderStatus, ProofType, Role, StopKind
from shared.schemas.common import TimeWindow
from shared.schemas.fleet import RouteCreate, RouteStopIn
from shared.schemas.orders import OrderCreate, StopIn, TransitionRequest

ORG_SLUG = "demo"
PASSWORD = "lastmile-demo"
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
DRIVERS = [
    ("Jonas Weber", "Van 1"),
    ("Maya Costa", "Van 2"),
    ("Ali Haddad", "Cargo bike"),
    ("Sara Lind", "Van 3"),
]


@dataclass
class DemoLogins:
    admin: str
    dispatcher: str
    drivers: list[str]
    password: str
    tracking_urls: list[str] = field(default_factory=list)


def _logins(tracking_urls: list[str]) -> DemoLogins:
    return DemoLogins(
        admin="admin@demo.lastmile.test",
        dispatcher="dispatcher@demo.lastmile.test",
        drivers=[f"driver{i + 1}@demo.lastmile.test" for i in range(len(DRIVERS))],
        password=PASSWORD,
        tracking_urls=tracking_urls,
    )


async def seed_demo(
    session: AsyncSession, settings: Settings, *, day: date | None = None, orders_count: int = 24
) -> DemoLogins:
    """Create the demo organisation once; return its logins and three tracking links."""
    existing = (
        await session.exec(select(Organization).where(Organization.slug == ORG_SLUG))
    ).first()
    if existing is not None:
        rows = await session.exec(
            select(TrackingLink.token).where(TrackingLink.org_id == existing.id).limit(3)
        )
        return _logins([links.link_url(settings, t) for t in rows.all()])

    rng = random.Random(20261121)
    day = day or datetime.now(UTC).date()
    org = await get_or_create_org(session, ORG_SLUG, "Demo Deliveries")
    assert org.id is not None
    logins = _logins([])
    admin = await create_user(session, org.id, logins.admin, PASSWORD, Role.ADMIN, "Ada Admin")
    await create_user(session, org.id, logins.dispatcher, PASSWORD, Role.DISPATCHER, "Dan Dispatch")
    assert admin.id is not None
    actor = Principal(admin.id, org.id, Role.ADMIN, None)

    name, address, lat, lng = DEPOT
    depot = Depot(org_id=org.id, name=name, address=address, lat=lat, lng=lng)
    session.add(depot)
    await session.flush()
    drivers: list[Driver] = []
    for i, (driver_name, vehicle_name) in enumerate(DRIVERS):
        bike = "bike" in vehicle_name.lower()
        vehicle = Vehicle(
            org_id=org.id,
            name=vehicle_name,
            capacity_weight_kg=80.0 if bike else 900.0,
            capacity_volume_m3=0.3 if bike else 6.0,
            skills=[] if bike else ["large_parcels"] + (["fridge"] if i == 0 else []),
            depot_id=depot.id,
        )
        session.add(vehicle)
        await session.flush()
        user = await create_user(
            session, org.id, logins.drivers[i], PASSWORD, Role.DRIVER, driver_name
        )
        driver = Driver(
            org_id=org.id,
            user_id=user.id,
            name=driver_name,
            phone=f"+377 6 00 00 0{i}",
            vehicle_id=vehicle.id,
            status=DriverStatus.IDLE,
        )
        session.add(driver)
        drivers.append(driver)
    await session.flush()

    payloads = []
    for n in range(orders_count):
        start_h = 9 + (n % 4) * 2
        start = datetime.combine(day, time(start_h), tzinfo=UTC)
        (lat0, lng0), (lat1, lng1) = AREA
        payloads.append(
            OrderCreate(
                reference=f"DEMO-{1001 + n}",
                dropoff=StopIn(
                    address=f"{rng.randint(1, 40)} {rng.choice(STREETS)}, Monaco",
                    lat=round(rng.uniform(lat0, lat1), 6),
                    lng=round(rng.uniform(lng0, lng1), 6),
                    time_window=TimeWindow(start=start, end=start + timedelta(hours=2)),
                    service_time_s=rng.choice([60, 120, 180]),
                ),
                recipient_name=NAMES[n % len(NAMES)],
                recipient_phone=f"+377 93 00 {n:02d} {n:02d}",
                weight_kg=round(rng.uniform(0.5, 20), 1),
                volume_m3=round(rng.uniform(0.005, 0.08), 3),
                priority=3 if n % 7 == 0 else 0,
                required_proofs=[ProofType.SIGNATURE] if n % 5 == 0 else [ProofType.PHOTO],
                instructions="Ring twice; leave with the concierge if out." if n % 3 == 0 else "",
                barcodes=[f"LM{day:%y%m%d}{1001 + n:05d}"],
            )
        )
    created = await orders.create_orders(session, actor, payloads)

    # The first two drivers get a planned route for the day: the driver app shows it.
    for d_index, driver in enumerate(drivers[:2]):
        mine = created[d_index * 6 : d_index * 6 + 6]
        for order in mine:
            await transitions.transition(
                session,
                actor,
                order,
                TransitionRequest(to=OrderStatus.ASSIGNED, driver_id=driver.id),
            )
        stops = (
            await session.exec(
                select(Stop).where(
                    Stop.kind == StopKind.DROPOFF,
                    col(Stop.order_id).in_([o.id for o in mine]),
                )
            )
        ).all()
        ordered = sorted(
            stops, key=lambda s: (s.window_start or datetime.max.replace(tzinfo=UTC), s.id)
        )
        assert driver.id is not None
        await routes_service.create_route(
            session,
            actor,
            RouteCreate(
                driver_id=driver.id,
                vehicle_id=driver.vehicle_id,
                service_date=day,
                stops=[
                    RouteStopIn(stop_id=s.id, planned_arrival_at=s.window_start)
                    for s in ordered
                    if s.id
                ],
            ),
        )
    # One order already on its way, so a tracking link shows more than "received".
    await transitions.transition(
        session, actor, created[0], TransitionRequest(to=OrderStatus.EN_ROUTE)
    )

    for order in (created[0], created[1], created[12]):
        link = await links.create_link(session, settings, actor, order, None)
        logins.tracking_urls.append(link.url)
    await session.flush()
    return logins
