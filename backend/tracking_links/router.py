from fastapi import APIRouter

from backend.deps import SessionDep
from backend.responses import ERRORS
from backend.tracking_links import service
from shared.schemas.tracking import TrackingView

router = APIRouter(prefix="/track", tags=["tracking"])


@router.get(
    "/{token}",
    response_model=TrackingView,
    responses={**ERRORS(404), 410: {"description": "The link has expired"}},
)
async def track(token: str, session: SessionDep) -> TrackingView:
    """The public view of one order through its tracking token. No sign-in needed."""
    return await service.tracking_view(session, token)
