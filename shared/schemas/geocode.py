"""Address look-ups: what ``GET /api/v1/geocode`` answers."""

from pydantic import BaseModel


class GeocodeResult(BaseModel):
    """One candidate place for an address typed by a dispatcher."""

    address: str
    lat: float  # WGS84 degrees
    lon: float  # WGS84 degrees
