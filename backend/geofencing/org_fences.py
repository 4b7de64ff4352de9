"""The fences of an organisation: its active zones (polygons and corridors an admin drew)
and a circle around each depot. They concern every driver of that organisation and no one
else's.

Pure code: :func:`org_fences` builds them; loading the zones and depots is
:mod:`backend.geofencing.org_places`.
"""

import logging
import math
from dataclasses import dataclass, field

from backend.geofencing.engine import Fence
from backend.geofencing.shapes import Circle, Corridor, Polygon, Shape
from shared.enums import ZoneKind
from shared.geo import Point

log = logging.getLogger(__name__)

ZONE_PREFIX = "zone:"
DEPOT_PREFIX = "depot:"


@dataclass(frozen=True, slots=True)
class OrgZone:
    """An active zone as its fence and its events need it."""

    zone_id: int
    org_id: int
    name: str
    kind: ZoneKind
    points: tuple[Point, ...]
    width_m: float | None = None  # corridors: the full width
    dwell_s: float | None = None  # None: no dwell


@dataclass(frozen=True, slots=True)
class OrgDepot:
    depot_id: int
    org_id: int
    lat: float
    lng: float


@dataclass(frozen=True, slots=True)
class OrgPlaces:
    """What an organisation fences: its active zones and its depots."""

    zones: list[OrgZone] = field(default_factory=list)
    depots: list[OrgDepot] = field(default_factory=list)


def zone_key(zone_id: int) -> str:
    return f"{ZONE_PREFIX}{zone_id}"


def depot_key(depot_id: int) -> str:
    return f"{DEPOT_PREFIX}{depot_id}"


def parse_zone_key(key: str) -> int | None:
    """The zone id of a key made by :func:`zone_key`, else None."""
    if not key.startswith(ZONE_PREFIX):
        return None
    rest = key[len(ZONE_PREFIX) :]
    return int(rest) if rest.isdigit() else None


def zone_shape(zone: OrgZone) -> Shape:
    """Raises ValueError for a shape the API would have refused."""
    if zone.kind is ZoneKind.CORRIDOR:
        if zone.width_m is None:
            raise ValueError("a corridor needs a width")
        return Corridor(zone.points, zone.width_m / 2)
    return Polygon(zone.points)


def org_fences(places: OrgPlaces, depot_m: float, depot_dwell_s: float) -> list[Fence]:
    """A fence per zone (``zone:{id}``) and per depot (``depot:{id}``, a ``depot_m``
    circle), scoped to the organisation. A zone whose stored shape is unusable is
    skipped with a warning rather than losing the organisation's other fences."""
    fences: list[Fence] = []
    for zone in places.zones:
        try:
            shape = zone_shape(zone)
        except ValueError as exc:
            log.warning("zone %s is not fenced: %s", zone.zone_id, exc)
            continue
        dwell_s = math.inf if zone.dwell_s is None else zone.dwell_s
        fences.append(Fence(zone_key(zone.zone_id), shape, org_id=zone.org_id, dwell_s=dwell_s))
    fences.extend(
        Fence(
            depot_key(depot.depot_id),
            Circle(Point(depot.lat, depot.lng), depot_m),
            org_id=depot.org_id,
            dwell_s=depot_dwell_s,
        )
        for depot in places.depots
    )
    return fences
