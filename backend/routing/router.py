"""``RoadRouter``: the routing the application uses, road engines plus the straight line.

The rule, point by point (every answer that used the fallback says ``estimated=True``):

1. **Inside a loaded region** (its extract's bounding box): the region's road engine
   answers. A point farther than ``routing_max_snap_m`` from every road of that region
   (the sea, a park, a gap in the extract) is refused with :class:`OffRoadError`; it is
   never snapped to some distant road.
2. **Outside every loaded region, but within ``fallback_reach_m`` of one** (a customer just
   past the edge of the imported extract): the straight-line fallback answers.
3. **Farther than ``fallback_reach_m`` from every loaded region** (Paris, with Monaco
   loaded): refused with :class:`OutsideRegionsError` (an ``OffRoadError``): such a point
   is almost always a wrong address, and an estimate across a country would be nonsense.
4. **No region loaded at all** (the backend started before ``lastmile region import``):
   the straight-line fallback answers everywhere, so the product still works, estimated.

Pairs of points in different regions (or one outside) get straight-line figures; a route
runs each stretch of consecutive waypoints inside one region on its roads and joins the
stretches with straight legs. Units: seconds, metres, WGS84 degrees.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.config import Settings
from backend.regions.metadata import osrm_file, read_info
from backend.routing.port import OffRoadError, RoutingEngine, RoutingError
from backend.routing.results import MatchedTrace, Matrix, Route, Snap
from backend.routing.straight_line import StraightLine
from shared.geo import BBox, Point, haversine_m

log = logging.getLogger(__name__)


class OutsideRegionsError(OffRoadError):
    """A point lies outside every loaded region and beyond the fallback's reach."""

    def __init__(self, point: Point, distance_m: float, limit_m: float, regions: str) -> None:
        super().__init__(point, distance_m, limit_m)
        self.args = (
            f"point ({point.lat:.5f}, {point.lng:.5f}) is outside the loaded road network "
            f"({regions}): {distance_m / 1000:.0f} km from it, more than "
            f"{limit_m / 1000:.0f} km; check the address or import a region that covers it",
        )


@dataclass(frozen=True, slots=True)
class LoadedRegion:
    name: str
    bbox: BBox | None  # None: the engine covers everywhere (an OSRM server of unknown extent)
    engine: RoutingEngine


def distance_to_bbox_m(point: Point, bbox: BBox) -> float:
    """Metres from ``point`` to the nearest point of ``bbox`` (0 inside)."""
    inside = Point(
        min(max(point.lat, bbox.min_lat), bbox.max_lat),
        min(max(point.lng, bbox.min_lng), bbox.max_lng),
    )
    return haversine_m(point, inside)


class RoadRouter:
    """Implements the routing port by dispatching points between regions and the fallback."""

    name = "road-router"

    def __init__(
        self, regions: Sequence[LoadedRegion], fallback: StraightLine, *, fallback_reach_m: float
    ) -> None:
        self.regions = list(regions)
        self.fallback = fallback
        self.fallback_reach_m = fallback_reach_m

    def close(self) -> None:
        """Release what the engines hold (the HTTP engine's connection pool)."""
        for region in self.regions:
            close = getattr(region.engine, "close", None)
            if callable(close):
                close()

    def region_of(self, point: Point) -> int | None:
        """Index of the region that routes ``point``; None for the fallback (rule 2 and 4)."""
        if not self.regions:
            return None
        nearest_m = float("inf")
        for index, region in enumerate(self.regions):
            if region.bbox is None or region.bbox.contains(point):
                return index
            nearest_m = min(nearest_m, distance_to_bbox_m(point, region.bbox))
        if nearest_m > self.fallback_reach_m:
            names = ", ".join(r.name for r in self.regions)
            raise OutsideRegionsError(point, nearest_m, self.fallback_reach_m, names)
        return None

    def matrix(self, sources: Sequence[Point], destinations: Sequence[Point]) -> Matrix:
        src = np.array([_key(self.region_of(p)) for p in sources], dtype=np.int64)
        dst = np.array([_key(self.region_of(p)) for p in destinations], dtype=np.int64)
        shape = (len(sources), len(destinations))
        durations = np.full(shape, np.nan)
        distances = np.full(shape, np.nan)
        by_road = np.zeros(shape, dtype=bool)
        for index, region in enumerate(self.regions):
            rows = np.flatnonzero(src == index)
            cols = np.flatnonzero(dst == index)
            if rows.size == 0 or cols.size == 0:
                continue
            part = region.engine.matrix(
                [sources[i] for i in rows.tolist()], [destinations[j] for j in cols.tolist()]
            )
            cells = np.ix_(rows, cols)
            durations[cells] = part.durations_s
            distances[cells] = part.distances_m
            by_road[cells] = True
        estimated = not bool(by_road.all())
        if estimated:
            rough = self.fallback.matrix(sources, destinations)
            durations = np.where(by_road, durations, rough.durations_s)
            distances = np.where(by_road, distances, rough.distances_m)
        return Matrix(durations_s=durations, distances_m=distances, estimated=estimated)

    def route(self, waypoints: Sequence[Point]) -> Route:
        if len(waypoints) < 2:
            raise RoutingError("a route needs at least two waypoints")
        keys = [self.region_of(p) for p in waypoints]
        if keys[0] is not None and all(k == keys[0] for k in keys):
            return self.regions[keys[0]].engine.route(waypoints)
        # Stretches of consecutive waypoints in one region go by road, the rest straight.
        pieces: list[Route] = []
        start = 0
        while start < len(waypoints) - 1:
            end = start + 1
            key = keys[start]
            if key is not None:
                while end < len(waypoints) and keys[end] == key:
                    end += 1
                end -= 1
            if end > start and key is not None:
                pieces.append(self.regions[key].engine.route(waypoints[start : end + 1]))
                start = end
            else:
                pieces.append(self.fallback.route(waypoints[start : start + 2]))
                start += 1
        return _join(pieces)

    def nearest(self, point: Point) -> Snap:
        key = self.region_of(point)
        if key is None:
            return self.fallback.nearest(point)
        return self.regions[key].engine.nearest(point)

    def match(
        self, trace: Sequence[Point], timestamps_s: Sequence[float] | None = None
    ) -> MatchedTrace:
        keys = {self.region_of(p) for p in trace}
        if len(keys) == 1 and (key := keys.pop()) is not None:
            return self.regions[key].engine.match(trace, timestamps_s)
        return self.fallback.match(trace, timestamps_s)


def _key(region: int | None) -> int:
    return -1 if region is None else region


def _join(pieces: Sequence[Route]) -> Route:
    geometry: list[Point] = []
    for piece in pieces:
        # Each piece starts where the previous one ended: drop the repeated point.
        skip = 1 if geometry and piece.geometry and geometry[-1] == piece.geometry[0] else 0
        geometry.extend(piece.geometry[skip:])
    return Route(
        duration_s=sum(p.duration_s for p in pieces),
        distance_m=sum(p.distance_m for p in pieces),
        geometry=geometry,
        leg_durations_s=[s for p in pieces for s in p.leg_durations_s],
        leg_distances_m=[m for p in pieces for m in p.leg_distances_m],
        estimated=any(p.estimated for p in pieces),
    )


def fallback_of(settings: Settings) -> StraightLine:
    return StraightLine(
        detour_factor=settings.fallback_detour_factor, speed_kmh=settings.fallback_speed_kmh
    )


def create_routing(settings: Settings) -> RoadRouter | None:
    """The router for ``settings``, or None when the configured region is not available.

    ``routing_url`` set: the OSRM server answers (its coverage is the local region's
    bounding box when that region is imported here too, otherwise everywhere). Otherwise
    the region ``data_dir/regions/NAME`` is loaded in-process (blocking: call it off the
    event loop). None means "not imported yet": use :func:`fallback_router`.
    """
    region_dir: Path = settings.regions_dir / settings.region
    info = read_info(region_dir)
    engine: RoutingEngine
    if settings.routing_url:
        from backend.routing.osrm_http import HttpOsrm

        engine = HttpOsrm(settings.routing_url, max_snap_m=settings.routing_max_snap_m)
        bbox = info.bbox if info else None
    else:
        if info is None:
            return None
        from backend.routing.osrm_embedded import EmbeddedOsrm

        engine = EmbeddedOsrm(osrm_file(region_dir), max_snap_m=settings.routing_max_snap_m)
        bbox = info.bbox
    region = LoadedRegion(name=settings.region, bbox=bbox, engine=engine)
    return RoadRouter([region], fallback_of(settings), fallback_reach_m=settings.fallback_reach_m)


def fallback_router(settings: Settings) -> RoadRouter:
    """No region loaded: straight-line estimates everywhere (rule 4)."""
    return RoadRouter([], fallback_of(settings), fallback_reach_m=settings.fallback_reach_m)
