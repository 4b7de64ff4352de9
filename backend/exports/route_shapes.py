"""A planned route as GeoJSON and GPX (pure): its stops in order and the road path.

GeoJSON: a FeatureCollection with a LineString of the path ([lng, lat]) and a Point per
stop (sequence, kind, address, window, planned and actual times). GPX 1.1: the stops as a
``rte`` of ``rtept`` (what navigation apps import) and the road path as a ``trk``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from backend.exports.tables import cell
from backend.locations.export import GPX_NS
from shared.geo import Point


@dataclass(frozen=True, slots=True)
class RouteStop:
    sequence: int
    stop_id: int
    order_id: int
    reference: str | None
    kind: str
    address: str
    lat: float
    lng: float
    window_start: datetime | None
    window_end: datetime | None
    planned_arrival_at: datetime | None
    actual_arrival_at: datetime | None


def _when(at: datetime | None) -> str | None:
    return cell(at) or None


def route_geojson(
    properties: dict[str, Any], stops: Sequence[RouteStop], path: Sequence[Point]
) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    if len(path) >= 2:
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[round(p.lng, 7), round(p.lat, 7)] for p in path],
                },
                "properties": {**properties, "role": "path"},
            }
        )
    for stop in stops:
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(stop.lng, 7), round(stop.lat, 7)],
                },
                "properties": {
                    "role": "stop",
                    "route_id": properties.get("route_id"),
                    "sequence": stop.sequence,
                    "stop_id": stop.stop_id,
                    "order_id": stop.order_id,
                    "reference": stop.reference,
                    "kind": stop.kind,
                    "address": stop.address,
                    "window_start": _when(stop.window_start),
                    "window_end": _when(stop.window_end),
                    "planned_arrival_at": _when(stop.planned_arrival_at),
                    "actual_arrival_at": _when(stop.actual_arrival_at),
                },
            }
        )
    return {"type": "FeatureCollection", "properties": properties, "features": features}


def route_gpx(name: str, stops: Sequence[RouteStop], path: Sequence[Point]) -> str:
    ET.register_namespace("", GPX_NS)

    def tag(parent: ET.Element, name: str, **attrs: str) -> ET.Element:
        return ET.SubElement(parent, f"{{{GPX_NS}}}{name}", attrib=attrs)

    gpx = ET.Element(f"{{{GPX_NS}}}gpx", version="1.1", creator="Lastmile")
    rte = tag(gpx, "rte")
    tag(rte, "name").text = name
    for stop in stops:
        point = tag(rte, "rtept", lat=f"{stop.lat:.7f}", lon=f"{stop.lng:.7f}")
        if stop.planned_arrival_at is not None:
            tag(point, "time").text = cell(stop.planned_arrival_at)
        tag(point, "name").text = f"{stop.sequence}. {stop.reference or f'#{stop.order_id}'}"
        tag(point, "desc").text = f"{stop.kind}: {stop.address}"
    if len(path) >= 2:
        trk = tag(gpx, "trk")
        tag(trk, "name").text = f"{name} (roads)"
        seg = tag(trk, "trkseg")
        for p in path:
            tag(seg, "trkpt", lat=f"{p.lat:.7f}", lon=f"{p.lng:.7f}")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(gpx, encoding="unicode") + "\n"
