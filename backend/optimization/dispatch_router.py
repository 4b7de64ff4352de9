"""Live dispatch endpoints: place an order into the running day, or auto-dispatch them all."""

from fastapi import APIRouter
from sqlmodel import col, select

from backend.crud import get_in_org
from backend.deps import CurrentUser, SessionDep, StaffUser, StateDep
from backend.errors import NotFoundError
from backend.models import Order, Organization, Route, Stop
from backend.optimization.auto import positions_of
from backend.optimization.changes import change_day
from backend.optimization.dispatch import (
    Placement,
    apply,
    late_after_delay,
    place_all,
    propose,
)
from backend.responses import ERRORS
from shared.enums import OrderStatus, Role, StopKind
from shared.schemas.optimization import (
    ChangeCreate,
    ChangeOut,
    DelayCreate,
    DelayOut,
    PlacementCreate,
    PlacementOut,
)

router = APIRouter(prefix="/dispatch", tags=["optimization"])


def _out(placement: Placement, applied: bool) -> PlacementOut:
    return PlacementOut(
        order_id=placement.order_id,
        placed=placement.route_id is not None,
        route_id=placement.route_id,
        driver_id=placement.driver_id,
        stop_ids=list(placement.stop_ids),
        added_drive_s=placement.added_drive_s,
        moved_order_ids=list(placement.moved_order_ids),
        applied=applied,
        reason=placement.reason,
    )


@router.post("/placements", response_model=PlacementOut, responses=ERRORS(401, 403, 404, 409, 422))
async def place_order(
    body: PlacementCreate, staff: StaffUser, session: SessionDep, state: StateDep
) -> PlacementOut:
    """Where a new order fits best in today's published or running routes: the route, its
    new stop sequence and the drive time it adds. Stops a driver completed or is driving to
    never move, and the other stops keep their order. With ``apply`` the order is assigned
    to that driver and the route resequenced at once (auto-dispatch of one order). Up to
    ``LASTMILE_DISPATCH_MAX_RESEQUENCED_STOPS`` other stops (default 3) may move to make
    room, each only if it saves drive time; they are listed in ``moved_order_ids``."""
    placement = await propose(
        session,
        state.routing,
        staff,
        body.order_id,
        positions=await positions_of(state, staff.org_id),
        max_moved=state.settings.dispatch_max_resequenced_stops,
    )
    if body.apply and placement.route_id is not None:
        await apply(session, staff, placement)
        return _out(placement, True)
    return _out(placement, False)


@router.post("/auto", response_model=list[PlacementOut], responses=ERRORS(401, 403))
async def auto_dispatch(
    staff: StaffUser, session: SessionDep, state: StateDep
) -> list[PlacementOut]:
    """Place every new order that is on no route yet into today's active routes, priority
    orders first, each where it adds the least drive time given where the drivers are, what
    their vans still carry and when their shifts end. Orders no route can take are listed
    with the reason and left as they are."""
    rows = (
        await session.exec(
            select(Order.id)
            .join(Stop, col(Stop.order_id) == col(Order.id))
            .where(
                Order.org_id == staff.org_id,
                Order.status == OrderStatus.CREATED,
                Stop.kind == StopKind.DROPOFF,
                col(Stop.route_id).is_(None),
            )
            .order_by(col(Order.priority).desc(), col(Order.id))
        )
    ).all()
    placements = await place_all(
        session,
        state.routing,
        staff,
        [order_id for order_id in rows if order_id is not None],
        positions=await positions_of(state, staff.org_id),
        max_moved=state.settings.dispatch_max_resequenced_stops,
    )
    return [_out(p, p.route_id is not None) for p in placements]


@router.post("/delays", response_model=DelayOut, responses=ERRORS(401, 403, 404, 422))
async def report_delay(
    body: DelayCreate, principal: CurrentUser, session: SessionDep, state: StateDep
) -> DelayOut:
    """A driver (for their own route) or a dispatcher reports the route running ``minutes``
    late. The answer lists the drop-offs that would then miss their window and, for each,
    the best other place in today's active routes (another driver, or later on the same
    route). Dispatchers apply the moves with ``apply``; with the organisation's
    auto-dispatch on they are applied at once, whoever reported the delay."""
    route = await get_in_org(session, Route, body.route_id, principal.org_id, label="route")
    if principal.role is Role.DRIVER and route.driver_id != principal.driver_id:
        raise NotFoundError(f"route {body.route_id} not found")
    delay_s = body.minutes * 60
    positions = await positions_of(state, principal.org_id)
    late = await late_after_delay(
        session, state.routing, principal, route, delay_s, positions=positions
    )
    org = await session.get(Organization, principal.org_id)
    auto = bool(org and org.auto_dispatch)
    apply_now = auto or (body.apply and principal.is_staff)
    moves = []
    for order_id in late:
        placement = await propose(
            session,
            state.routing,
            principal,
            order_id,
            positions=positions,
            max_moved=state.settings.dispatch_max_resequenced_stops,
            delays={route.id or 0: delay_s},
            moving=True,
        )
        applied = apply_now and placement.route_id is not None
        if applied:
            await apply(session, principal, placement)
            await session.flush()
        moves.append(_out(placement, applied))
    return DelayOut(route_id=body.route_id, delay_s=delay_s, late_order_ids=late, moves=moves)


@router.post("/changes", response_model=ChangeOut, responses=ERRORS(400, 401, 403, 404, 409, 422))
async def change_routes(
    body: ChangeCreate, staff: StaffUser, session: SessionDep, state: StateDep
) -> ChangeOut:
    """Preview a change to the day, then apply it: ``order_ids`` given to ``driver_id``
    (each put where that route suffers least: fewest late stops, then least lateness, then
    least driving) and/or ``sequences``, a driver's open stops in the wanted order (stops
    done or being driven to keep their place before them). The answer shows every route the
    change touches, each stop with its arrival before and after and how late it would be.
    With ``apply`` it is made at once, all or nothing: orders change hands, the routes get
    the new order and planned arrivals, and a draft (or new) route is published; the
    drivers' apps hear of it."""
    return await change_day(
        session,
        state.routing,
        staff,
        body,
        positions=await positions_of(state, staff.org_id),
    )
