"""Past days written straight into the database, as they would have been recorded: the
API stamps events with the present, and the breakdowns are about days gone by."""

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.models import Driver, Order, OrderEvent, Route, Stop
from shared.enums import EventKind, OrderStatus, Role, RouteStatus, StopKind

PARIS = ZoneInfo("Europe/Paris")


def paris(day: date, clock: str) -> datetime:
    """``clock`` ("HH:MM") on ``day`` in Paris, as an aware time."""
    hour, minute = (int(p) for p in clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


@dataclass
class Visit:
    """One drop-off as it went: reported ``outcome`` at ``at`` by the driver."""

    at: datetime
    window: tuple[datetime, datetime] | None = None
    outcome: OrderStatus = OrderStatus.DELIVERED
    planned_at: datetime | None = None  # planned arrival, when on a route
    arrived_at: datetime | None = None  # recorded arrival, when on a route


@dataclass
class RoutePlan:
    driver_id: int
    service_date: date
    visits: list[Visit] = field(default_factory=list)
    status: RouteStatus = RouteStatus.PUBLISHED


async def write_history(
    settings: Settings,
    org_id: int,
    loose: dict[int, list[Visit]],
    routes: list[RoutePlan],
) -> None:
    """Orders with a drop-off each, reported by their driver (``loose``: per driver id,
    not on any route; ``routes``: on a route of that driver)."""
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_scope(engine) as session:
            users = dict(
                (
                    await session.exec(
                        select(Driver.id, Driver.user_id).where(Driver.org_id == org_id)
                    )
                ).all()
            )
            plans: list[tuple[int, Route | None, list[Visit]]] = [
                (d, None, visits) for d, visits in loose.items()
            ]
            for plan in routes:
                new = Route(
                    org_id=org_id,
                    driver_id=plan.driver_id,
                    service_date=plan.service_date,
                    status=plan.status,
                )
                session.add(new)
                plans.append((plan.driver_id, new, plan.visits))
            await session.flush()
            for driver_id, route, visits in plans:
                for sequence, visit in enumerate(visits):
                    order = Order(org_id=org_id, recipient_name="Rita", status=visit.outcome)
                    session.add(order)
                    await session.flush()
                    assert order.id is not None
                    start, end = visit.window or (None, None)
                    session.add(
                        Stop(
                            org_id=org_id,
                            order_id=order.id,
                            kind=StopKind.DROPOFF,
                            address="1 Quai Antoine Ier",
                            lat=43.73 + 0.001 * sequence,
                            lng=7.42,
                            window_start=start,
                            window_end=end,
                            route_id=route.id if route else None,
                            sequence=sequence if route else None,
                            planned_arrival_at=visit.planned_at,
                            actual_arrival_at=visit.arrived_at,
                            actual_departure_at=visit.at,
                        )
                    )
                    session.add(
                        OrderEvent(
                            org_id=org_id,
                            order_id=order.id,
                            kind=EventKind.STATUS_CHANGED,
                            from_status=OrderStatus.EN_ROUTE,
                            to_status=visit.outcome,
                            actor_user_id=users[driver_id],
                            actor_role=Role.DRIVER,
                            at=visit.at,
                        )
                    )
    finally:
        await engine.dispose()
