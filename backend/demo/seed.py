"""The demo organisation in Monaco: a depot, twelve drivers with vehicles, today's orders.

Idempotent and deterministic: the organisation, its users, depot, drivers and vehicles are
made once; a day's orders (see :mod:`backend.demo.day`) are added once per day, so a demo
started again the same day changes nothing and one started on a later day gets that day's
orders. No routes: the launcher has the optimiser plan the day.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.auth.service import create_user, get_or_create_org
from backend.config import Settings
from backend.demo.day import DEPOT, Snap, day_orders, demo_drivers, reference_prefix
from backend.models import Depot, Driver, Order, Organization, TrackingLink, User, Vehicle
from backend.orders import service as orders
from backend.tracking_links import service as links
from shared.enums import DriverStatus, Role

ORG_SLUG = "demo"
PASSWORD = "lastmile-demo"
ADMIN = "admin@demo.lastmile.test"
DISPATCHER = "dispatcher@demo.lastmile.test"


@dataclass
class DemoLogins:
    admin: str
    dispatcher: str
    drivers: list[str]
    password: str
    tracking_urls: list[str] = field(default_factory=list)
    orders_added: int = 0  # today's orders made by this call (0: they were there)


async def seed_demo(
    session: AsyncSession,
    settings: Settings,
    *,
    now: datetime | None = None,
    snap: Snap | None = None,
    orders_count: int | None = None,
) -> DemoLogins:
    """Create the demo organisation once and the orders of ``now``'s day (UTC) once; return
    the logins and the organisation's newest tracking links (the launcher makes them)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    org = (await session.exec(select(Organization).where(Organization.slug == ORG_SLUG))).first()
    if org is None:
        org = await _create_org(session)
    assert org.id is not None
    admin = (await session.exec(select(User).where(User.email == ADMIN))).one()
    assert admin.id is not None
    actor = Principal(admin.id, org.id, Role.ADMIN, None)
    logins = DemoLogins(
        admin=ADMIN,
        dispatcher=DISPATCHER,
        drivers=[d.email for d in demo_drivers()],
        password=PASSWORD,
    )
    prefix = reference_prefix(now.date())
    has_day = (
        await session.exec(
            select(Order.id)
            .where(Order.org_id == org.id, col(Order.reference).startswith(prefix))
            .limit(1)
        )
    ).first()
    if has_day is None:
        kwargs = {} if orders_count is None else {"count": orders_count}
        created = await orders.create_orders(session, actor, day_orders(now, snap=snap, **kwargs))
        logins.orders_added = len(created)
    tokens = await session.exec(
        select(TrackingLink.token)
        .where(TrackingLink.org_id == org.id)
        .order_by(col(TrackingLink.id).desc())
        .limit(3)
    )
    logins.tracking_urls = [links.link_url(settings, t) for t in tokens.all()]
    await session.flush()
    return logins


async def _create_org(session: AsyncSession) -> Organization:
    org = await get_or_create_org(session, ORG_SLUG, "Demo Deliveries")
    assert org.id is not None
    await create_user(session, org.id, ADMIN, PASSWORD, Role.ADMIN, "Ada Admin")
    await create_user(session, org.id, DISPATCHER, PASSWORD, Role.DISPATCHER, "Dan Dispatch")
    name, address, lat, lng = DEPOT
    depot = Depot(org_id=org.id, name=name, address=address, lat=lat, lng=lng)
    session.add(depot)
    await session.flush()
    for spec in demo_drivers():
        vehicle = Vehicle(
            org_id=org.id,
            name=spec.vehicle.name,
            capacity_weight_kg=spec.vehicle.capacity_weight_kg,
            capacity_volume_m3=spec.vehicle.capacity_volume_m3,
            skills=list(spec.vehicle.skills),
            depot_id=depot.id,
        )
        session.add(vehicle)
        await session.flush()
        user = await create_user(session, org.id, spec.email, PASSWORD, Role.DRIVER, spec.name)
        session.add(
            Driver(
                org_id=org.id,
                user_id=user.id,
                name=spec.name,
                phone=spec.phone,
                vehicle_id=vehicle.id,
                status=DriverStatus.IDLE,
            )
        )
    await session.flush()
    return org
