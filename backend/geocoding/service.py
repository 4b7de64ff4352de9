"""The geocoder behind ``GET /api/v1/geocode``: the only importer of geopy.

geopy's geocoders block on the network, so a look-up runs in a worker thread. Without
``LASTMILE_GEOCODER`` there is none: the dispatcher pins the address on the map instead.
"""

import asyncio
from typing import Any
from urllib.parse import urlsplit

from geopy.exc import GeopyError
from geopy.geocoders import Nominatim, Photon

from backend.config import Settings
from backend.errors import ConflictError, UnavailableError
from shared.schemas.geocode import GeocodeResult

USER_AGENT = "lastmile-dispatch"
TIMEOUT_S = 5.0
MAX_RESULTS = 5
_GEOCODERS: dict[str, Any] = {"nominatim": Nominatim, "photon": Photon}


def _domain_and_scheme(url: str) -> dict[str, str]:
    """``https://geo.example.org/nominatim`` as geopy's ``domain`` and ``scheme``."""
    if "://" not in url:
        return {"domain": url.strip("/")}
    parts = urlsplit(url)
    return {"domain": (parts.netloc + parts.path).rstrip("/"), "scheme": parts.scheme}


def build_geocoder(settings: Settings) -> Any:
    """The configured geopy geocoder; a 409 saying so when none is configured."""
    if settings.geocoder is None:
        raise ConflictError(
            "no geocoder configured (LASTMILE_GEOCODER); pin the address on the map",
            code="no_geocoder",
        )
    options: dict[str, Any] = {"user_agent": USER_AGENT, "timeout": TIMEOUT_S}
    if settings.geocoder_url:
        options.update(_domain_and_scheme(settings.geocoder_url))
    return _GEOCODERS[settings.geocoder](**options)


def _lookup(geocoder: Any, query: str) -> list[GeocodeResult]:
    found = geocoder.geocode(query, exactly_one=False, limit=MAX_RESULTS) or []
    return [
        GeocodeResult(address=place.address, lat=place.latitude, lon=place.longitude)
        for place in found[:MAX_RESULTS]
    ]


async def geocode(settings: Settings, query: str) -> list[GeocodeResult]:
    """Up to five candidate places for ``query``, best first (none found: an empty list).
    A geocoder that fails or does not answer is a 503."""
    geocoder = build_geocoder(settings)
    try:
        return await asyncio.to_thread(_lookup, geocoder, query)
    except GeopyError as exc:
        raise UnavailableError(
            f"the geocoder did not answer ({type(exc).__name__}); try again or pin the "
            "address on the map",
            code="geocoder_unavailable",
        ) from exc
