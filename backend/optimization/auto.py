"""Auto-dispatch of new orders, for organisations that switch it on (``auto_dispatch``)."""

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.models import Order, Organization
from backend.optimization.dispatch import Placement, place_all
from backend.state import AppState


async def positions_of(state: AppState, org_id: int) -> dict[int, tuple[float, float]]:
    """Every driver's current position in ``org_id`` (to place orders from where they are)."""
    return {
        p.driver.driver_id: (p.fix.lat, p.fix.lng) for p in await state.locations.positions(org_id)
    }


async def auto_dispatch(
    session: AsyncSession, state: AppState, principal: Principal, orders: Sequence[Order]
) -> list[Placement]:
    """Place just-created ``orders`` into today's active routes if the organisation wants
    that; in the caller's transaction, so the order is created and placed, or neither."""
    org = await session.get(Organization, principal.org_id)
    if org is None or not org.auto_dispatch or not orders:
        return []
    placements = await place_all(
        session,
        state.routing,
        principal,
        [o.id for o in orders if o.id is not None],
        positions=await positions_of(state, principal.org_id),
        max_moved=state.settings.dispatch_max_resequenced_stops,
    )
    for order in orders:
        await session.refresh(order)
    return placements
