"""``GET /api/v1/map``: where this deployment's maps get their tiles, for the apps (the
tracking page has the same in its view). Any signed-in user: it names no data."""

from fastapi import APIRouter

from backend.deps import CurrentUser, StateDep
from backend.responses import ERRORS
from shared.schemas.tracking import MapSettings

router = APIRouter(tags=["map"])


@router.get("/map", response_model=MapSettings, responses=ERRORS(401))
async def map_settings(_: CurrentUser, state: StateDep) -> MapSettings:
    """The tile URL template (``{z}/{x}/{y}``; relative means this server, which renders
    its own tiles from the imported region) and the attribution the data asks for."""
    settings = state.settings
    return MapSettings(tile_url=settings.tile_url, attribution=settings.tile_attribution)
