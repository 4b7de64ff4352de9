"""What the driver's map shows (pure): the stops numbered and marked done / next / to do,
the line through what is left in order, and where the tiles come from."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from driver_app.logic.stops import StopLine

LatLng = tuple[float, float]


class Mark(StrEnum):
    DONE = "done"
    NEXT = "next"
    TO_DO = "to_do"


@dataclass(frozen=True, slots=True)
class MapStop:
    number: int  # as in the list: 1 is the day's first stop
    lat: float
    lng: float
    mark: Mark
    address: str


def map_stops(lines: Sequence[StopLine], next_index: int | None) -> list[MapStop]:
    """Every stop of the day, numbered as in the list."""
    stops = []
    for i, line in enumerate(lines):
        if i == next_index:
            mark = Mark.NEXT
        elif line.finished:
            mark = Mark.DONE
        else:
            mark = Mark.TO_DO
        stops.append(MapStop(i + 1, line.stop.lat, line.stop.lng, mark, line.stop.address))
    return stops


def path_ahead(stops: Sequence[MapStop], position: LatLng | None = None) -> list[LatLng]:
    """The points the rest of the day goes through: the driver (when known), the next stop,
    then the stops to do, in order. Done stops are behind."""
    ahead = [(s.lat, s.lng) for s in stops if s.mark is not Mark.DONE]
    if position is not None and ahead:
        ahead.insert(0, position)
    return ahead


def to_fit(stops: Sequence[MapStop], position: LatLng | None = None) -> list[LatLng]:
    """What the camera should show: the stops still to do and the driver, else every stop."""
    ahead = path_ahead(stops, position)
    return ahead or [(s.lat, s.lng) for s in stops]


def tile_template(tile_url: str, api_base_url: str) -> str:
    """The tile URL as the map fetches it: absolute as configured, or relative to the API
    server (``/tiles/{z}/{x}/{y}.png`` is the server's own tiles).

    Relative means under the base URL the app talks to, path included, as the API calls
    are: a server at ``https://host/lastmile`` has its tiles at ``/lastmile/tiles/``.
    """
    if "://" in tile_url:
        return tile_url
    base = api_base_url.rstrip("/")
    if tile_url.startswith("//"):  # scheme-relative: another host, the API's scheme
        return f"{urlsplit(base).scheme}:{tile_url}"
    return f"{base}/{tile_url.lstrip('/')}"
