"""``/api/v1/geocode``: candidate coordinates for an address, for dispatchers creating orders."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.deps import SettingsDep, StaffUser
from backend.geocoding import service
from backend.responses import ERRORS
from shared.schemas.geocode import GeocodeResult

router = APIRouter(prefix="/geocode", tags=["geocoding"])


@router.get("", response_model=list[GeocodeResult], responses=ERRORS(401, 403, 409, 422))
async def geocode(
    _: StaffUser,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=3, max_length=300, description="the address")],
) -> list[GeocodeResult]:
    """Up to five places matching ``q``, best first, from the geocoder set by
    ``LASTMILE_GEOCODER``. Without one: 409 ``no_geocoder`` (pin the address on the map
    instead); a geocoder that fails: 503 ``geocoder_unavailable``."""
    return await service.geocode(settings, q.strip())
