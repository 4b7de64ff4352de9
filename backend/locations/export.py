"""A driver's track as GPX 1.1 and GeoJSON (pure: fixes in, text or a mapping out)."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from backend.locations.fix import Fix

GPX_NS = "http://www.topografix.com/GPX/1/1"


def iso_z(epoch_s: float) -> str:
    """ISO 8601 UTC with a ``Z`` and milliseconds, as GPX and most tools expect."""
    text = datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def to_gpx(fixes: Sequence[Fix], name: str) -> str:
    """One track, one segment, a ``trkpt`` per fix (with ``ele`` when known, and ``time``)."""
    ET.register_namespace("", GPX_NS)
    gpx = ET.Element(f"{{{GPX_NS}}}gpx", version="1.1", creator="Lastmile")
    trk = ET.SubElement(gpx, f"{{{GPX_NS}}}trk")
    ET.SubElement(trk, f"{{{GPX_NS}}}name").text = name
    seg = ET.SubElement(trk, f"{{{GPX_NS}}}trkseg")
    for fix in fixes:
        point = ET.SubElement(seg, f"{{{GPX_NS}}}trkpt", lat=f"{fix.lat:.7f}", lon=f"{fix.lng:.7f}")
        if fix.altitude_m is not None:  # the schema orders ele before time
            ET.SubElement(point, f"{{{GPX_NS}}}ele").text = f"{fix.altitude_m:.1f}"
        ET.SubElement(point, f"{{{GPX_NS}}}time").text = iso_z(fix.recorded_at)
    body = ET.tostring(gpx, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def to_geojson(fixes: Sequence[Fix], properties: dict[str, Any]) -> dict[str, Any]:
    """A Feature: a LineString (a Point for one fix, no geometry for none) with ``coordTimes``
    (the ISO time of each position, the convention of togeojson and Mapbox) and per-fix
    speeds and accuracies. Positions are [lng, lat] or [lng, lat, altitude]."""
    coordinates: list[list[float]] = []
    for fix in fixes:
        position = [round(fix.lng, 7), round(fix.lat, 7)]
        if fix.altitude_m is not None:
            position.append(round(fix.altitude_m, 1))
        coordinates.append(position)
    geometry: dict[str, Any] | None
    if len(coordinates) >= 2:
        geometry = {"type": "LineString", "coordinates": coordinates}
    elif coordinates:
        geometry = {"type": "Point", "coordinates": coordinates[0]}
    else:
        geometry = None
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            **properties,
            "coordTimes": [iso_z(f.recorded_at) for f in fixes],
            "speeds_mps": [f.speed_mps for f in fixes],
            "accuracies_m": [f.accuracy_m for f in fixes],
        },
    }
