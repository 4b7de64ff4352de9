"""Tracking links: one unguessable token shows one order to one customer until it expires."""

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.config import Settings
from backend.errors import AppError, NotFoundError, TooManyRequestsError
from backend.locations.approximate import GRID_M
from backend.models import Driver, Order, OrderEvent, Organization, Stop, TrackingLink, Vehicle
from backend.models.types import utcnow
from backend.orders import events
from backend.ratelimit import Limiter
from backend.tracking_links.presentation import DEFAULT_COLOUR, eta_window, text_colour_for
from backend.tracking_links.self_service import FINISHED, can_change_window
from backend.tracking_links.view_parts import (
    delivery_event,
    proof_summary,
    rating_of,
    stops_before,
)
from shared.enums import EventKind, OrderStatus, StopKind
from shared.lifecycle import TERMINAL
from shared.schemas.orders import TrackingLinkOut
from shared.schemas.tracking import (
    ApproximatePosition,
    Branding,
    MapSettings,
    TrackingEvent,
    TrackingView,
)

# (driver_id, order_id) -> (lat, lng, recorded_at epoch s), approximate, if the customer may
# see the driver now; see backend.locations.fanout.LocationFanOut.customer_position.
Locate = Callable[[int | None, int], tuple[float, float, float] | None]

TOKEN_BYTES = 24  # 192 bits: not guessable, 32 URL-safe characters


class LinkExpiredError(AppError):
    status_code = 410
    code = "link_expired"


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/t/{token}"


async def create_link(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    order: Order,
    ttl_hours: int | None,
) -> TrackingLinkOut:
    assert order.id is not None
    hours = ttl_hours or settings.tracking_link_ttl_h
    link = TrackingLink(
        org_id=order.org_id,
        order_id=order.id,
        token=secrets.token_urlsafe(TOKEN_BYTES),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(link)
    await session.flush()
    await events.record(
        session, order, EventKind.TRACKING_LINK_CREATED, principal, details={"ttl_hours": hours}
    )
    return TrackingLinkOut(
        token=link.token,
        url=link_url(settings, link.token),
        order_id=order.id,
        expires_at=link.expires_at,
    )


async def resolve(
    session: AsyncSession,
    token: str,
    guesses: Limiter | None = None,
    client: str | None = None,
) -> TrackingLink:
    """The link of ``token``. With ``guesses``, a ``client`` that sent too many unknown
    tokens is refused before the look-up (429), and an unknown token counts against it."""
    if guesses is not None and client is not None:
        wait = await guesses.retry_after(client)
        if wait > 0:
            raise TooManyRequestsError(
                "too many unknown tracking links were tried from your network; "
                f"try again in {max(1, round(wait))} s",
                retry_after_s=wait,
                code="too_many_guesses",
            )
    link = (await session.exec(select(TrackingLink).where(TrackingLink.token == token))).first()
    if link is None or link.revoked:
        if guesses is not None and client is not None:
            await guesses.miss(client)
        raise NotFoundError("this tracking link does not exist")
    if link.expires_at <= utcnow():
        raise LinkExpiredError("this tracking link has expired; ask the sender for a new one")
    return link


async def tracking_view(
    session: AsyncSession,
    token: str,
    locate: Locate | None = None,
    guesses: Limiter | None = None,
    client: str | None = None,
    settings: Settings | None = None,
) -> TrackingView:
    """What the customer may see: status, timeline, destination, driver's first name, and
    (through ``locate``) the approximate driver position while the order is current/next."""
    link = await resolve(session, token, guesses, client)
    return await view_for_link(session, link, locate, settings)


async def view_for_link(
    session: AsyncSession,
    link: TrackingLink,
    locate: Locate | None = None,
    settings: Settings | None = None,
) -> TrackingView:
    """:func:`tracking_view` for a link already resolved (four queries, five while the
    order is on a route: every customer's page and socket opens through here, thousands at
    once after a restart). ``settings`` gives the map's tiles."""
    found_row = (
        await session.exec(
            select(Order, Organization, Driver, Vehicle)
            .join(Organization, col(Organization.id) == col(Order.org_id))
            .join(Driver, col(Driver.id) == col(Order.driver_id), isouter=True)
            .join(Vehicle, col(Vehicle.id) == col(Driver.vehicle_id), isouter=True)
            .where(Order.id == link.order_id)
        )
    ).first()
    assert found_row is not None
    order, org, driver, vehicle = found_row
    stops = (await session.exec(select(Stop).where(Stop.order_id == order.id))).all()
    destination = next((s for s in stops if s.kind == StopKind.DROPOFF), stops[0])
    rows = await session.exec(
        select(OrderEvent)
        .where(
            OrderEvent.order_id == order.id,
            or_(col(OrderEvent.to_status).is_not(None), col(OrderEvent.kind) == EventKind.RATED),
        )
        .order_by(col(OrderEvent.id))
    )
    history = rows.all()
    timeline = [TrackingEvent(status=e.to_status, at=e.at) for e in history if e.to_status]
    found = locate(order.driver_id, order.id) if locate and order.id is not None else None
    driver_position = (
        ApproximatePosition(
            lat=found[0],
            lng=found[1],
            recorded_at=datetime.fromtimestamp(found[2], UTC),
            approx_m=GRID_M,
        )
        if found
        else None
    )
    status = OrderStatus(order.status)
    eta = destination.eta_at if status not in TERMINAL else None
    window = eta_window(eta, utcnow()) if eta is not None else (None, None)
    delivered = delivery_event(history) if status is OrderStatus.DELIVERED else None
    rating = rating_of(history)
    refusal = can_change_window(status)
    colour = org.brand_colour or DEFAULT_COLOUR
    return TrackingView(
        order_reference=order.reference,
        status=order.status,
        recipient_name=order.recipient_name,
        address=destination.address,
        lat=destination.lat,
        lng=destination.lng,
        window_start=destination.window_start,
        window_end=destination.window_end,
        eta=eta,
        driver_first_name=driver.name.split()[0] if driver and driver.name.split() else None,
        vehicle_name=vehicle.name if vehicle else None,
        instructions=order.instructions,
        timeline=timeline,
        expires_at=link.expires_at,
        driver_position=driver_position,
        delivery_pin=order.delivery_pin if order.status not in TERMINAL else None,
        eta_window_start=window[0],
        eta_window_end=window[1],
        stops_before=await stops_before(session, destination) if status not in TERMINAL else None,
        brand=Branding(
            name=org.name, colour=colour, text_colour=text_colour_for(colour), logo_url=org.logo_url
        ),
        map=MapSettings(tile_url=settings.tile_url, attribution=settings.tile_attribution)
        if settings
        else None,
        can_change_instructions=status not in FINISHED,
        can_change_window=refusal is None,
        window_change_refusal=refusal,
        proof=proof_summary(delivered, org, f"/api/v1/track/{link.token}/proof/photo")
        if delivered
        else None,
        rating=rating,
        can_rate=status is OrderStatus.DELIVERED and rating is None,
    )


async def end_links_after_finish(session: AsyncSession, order: Order, now: datetime) -> None:
    """The order is finished: its links stop working the organisation's
    ``tracking_hours_after_delivery`` from now (sooner if they already would)."""
    org = await session.get(Organization, order.org_id)
    hours = org.tracking_hours_after_delivery if org is not None else 72.0
    cutoff = now + timedelta(hours=hours)
    await session.exec(
        update(TrackingLink)
        .where(col(TrackingLink.order_id) == order.id, col(TrackingLink.expires_at) > cutoff)
        .values(expires_at=cutoff)
    )
