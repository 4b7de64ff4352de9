"""Which OSM objects the map draws, and in which class: tags in, a :class:`FeatureClass` out.

Pure: no I/O, no pyosmium. The numeric value of a class is its drawing order (lower first),
so an index sorted by class can be drawn front to back without sorting again.
"""

from collections.abc import Mapping
from enum import IntEnum


class FeatureClass(IntEnum):
    # areas, bottom to top
    SEA = 0
    GREEN = 1
    SAND = 2
    PITCH = 3
    WATER = 4
    PIER_AREA = 5
    PEDESTRIAN_AREA = 6
    BUILDING = 7
    # lines, bottom to top
    WATERWAY = 20
    TUNNEL = 21
    RAIL = 22
    PIER = 23
    PATH = 24
    SERVICE = 25
    MINOR = 26
    TERTIARY = 27
    SECONDARY = 28
    PRIMARY = 29
    TRUNK = 30
    MOTORWAY = 31


AREA_CLASSES = frozenset(c for c in FeatureClass if c < FeatureClass.WATERWAY)
ROAD_CLASSES = frozenset(c for c in FeatureClass if c >= FeatureClass.PATH)

_ROADS = {
    "motorway": FeatureClass.MOTORWAY,
    "trunk": FeatureClass.TRUNK,
    "primary": FeatureClass.PRIMARY,
    "secondary": FeatureClass.SECONDARY,
    "tertiary": FeatureClass.TERTIARY,
    "residential": FeatureClass.MINOR,
    "unclassified": FeatureClass.MINOR,
    "living_street": FeatureClass.MINOR,
    "road": FeatureClass.MINOR,
    "raceway": FeatureClass.MINOR,
    "service": FeatureClass.SERVICE,
    "pedestrian": FeatureClass.PATH,
    "footway": FeatureClass.PATH,
    "path": FeatureClass.PATH,
    "steps": FeatureClass.PATH,
    "cycleway": FeatureClass.PATH,
    "track": FeatureClass.PATH,
    "bridleway": FeatureClass.PATH,
}
_GREEN = {
    ("leisure", "park"),
    ("leisure", "garden"),
    ("leisure", "golf_course"),
    ("leisure", "nature_reserve"),
    ("leisure", "common"),
    ("leisure", "dog_park"),
    ("leisure", "recreation_ground"),
    ("landuse", "grass"),
    ("landuse", "forest"),
    ("landuse", "meadow"),
    ("landuse", "cemetery"),
    ("landuse", "recreation_ground"),
    ("landuse", "village_green"),
    ("natural", "wood"),
    ("natural", "scrub"),
    ("natural", "grassland"),
    ("natural", "heath"),
}
_PITCH = {"pitch", "playground", "stadium", "track", "sports_centre", "miniature_golf"}
_WATER_LANDUSE = {"basin", "reservoir"}


def classify_line(tags: Mapping[str, str]) -> FeatureClass | None:
    """The class of an open way drawn as a line, or None when the map ignores it."""
    highway = tags.get("highway")
    if highway is not None:
        road = _ROADS.get(highway.removesuffix("_link"))
        if road is None or tags.get("area") == "yes":
            return None
        if tags.get("tunnel") in ("yes", "building_passage") or tags.get("covered") == "yes":
            return FeatureClass.TUNNEL
        return road
    if tags.get("railway") in ("rail", "light_rail", "tram", "narrow_gauge"):
        return None if tags.get("tunnel") == "yes" else FeatureClass.RAIL
    if tags.get("waterway") in ("river", "stream", "canal", "drain", "ditch"):
        return None if tags.get("tunnel") == "culvert" else FeatureClass.WATERWAY
    if tags.get("man_made") in ("pier", "breakwater", "groyne"):
        return FeatureClass.PIER
    return None


def classify_area(tags: Mapping[str, str]) -> FeatureClass | None:
    """The class of a closed way or multipolygon drawn as a filled area, or None."""
    if tags.get("building", "no") != "no":
        return FeatureClass.BUILDING
    natural = tags.get("natural")
    if (
        natural == "water"
        or tags.get("waterway") == "riverbank"
        or tags.get("landuse") in _WATER_LANDUSE
        or tags.get("leisure") == "swimming_pool"
    ):
        return FeatureClass.WATER
    if natural in ("beach", "sand"):
        return FeatureClass.SAND
    leisure = tags.get("leisure")
    if leisure in _PITCH:
        return FeatureClass.PITCH
    for key in ("leisure", "landuse", "natural"):
        value = tags.get(key)
        if value is not None and (key, value) in _GREEN:
            return FeatureClass.GREEN
    if tags.get("man_made") in ("pier", "breakwater"):
        return FeatureClass.PIER_AREA
    if (tags.get("highway") == "pedestrian" and tags.get("area") == "yes") or tags.get(
        "place"
    ) == "square":
        return FeatureClass.PEDESTRIAN_AREA
    return None
