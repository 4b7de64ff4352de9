from fastapi import APIRouter

from backend.deps import SessionDep, StateDep
from backend.responses import ERRORS
from backend.tracking_links import service
from shared.schemas.tracking import TrackingView

router = APIRouter(prefix="/track", tags=["tracking"])


@router.get(
    "/{token}",
    response_model=TrackingView,
    responses={**ERRORS(404), 410: {"description": "The link has expired"}},
)
async def track(token: str, session: SessionDep, state: StateDep) -> TrackingView:
    """The public view of one order through its tracking token. No sign-in needed.

    ``driver_position`` is the driver's approximate position (a ~100 m grid cell around a
    smoothed track, never the raw fix), only while this order is the driver's current or
    next stop; otherwise null. Live updates: the WebSocket ``/api/v1/track/{token}/ws``."""
    return await service.tracking_view(session, token, locate=state.fanout.customer_position)
