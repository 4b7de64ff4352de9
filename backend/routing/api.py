"""``/api/v1/routing``: road times, distances and paths for staff and drivers.

Engine calls block (OSRM in-process, or HTTP to an OSRM server), so they run in a thread.
A point too far from any road, or far outside every imported region, is a 400 with code
``off_road``: the payload is valid, the place is not reachable. 422 stays for validation.
"""

import asyncio
import math
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends

from backend.deps import CurrentUser, StateDep
from backend.errors import BadRequestError
from backend.responses import ERRORS
from backend.routing.port import OffRoadError, RoutingError
from backend.routing.results import Matrix
from backend.routing.router import RoadRouter
from shared.geo import Point
from shared.schemas.routing import (
    LatLng,
    LatLngOut,
    MatchOut,
    MatchRequest,
    MatrixOut,
    MatrixRequest,
    NearestOut,
    NearestRequest,
    RouteOut,
    RouteRequest,
)

router = APIRouter(prefix="/routing", tags=["routing"])


def get_router(state: StateDep) -> RoadRouter:
    return state.routing


RouterDep = Annotated[RoadRouter, Depends(get_router)]


async def _run[T](call: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(call)
    except OffRoadError as exc:
        details = {"lat": exc.point.lat, "lng": exc.point.lng, "limit_m": exc.limit_m}
        raise BadRequestError(str(exc), code="off_road", details=details) from exc
    except RoutingError as exc:
        raise BadRequestError(str(exc), code="no_route") from exc


def _points(items: list[LatLng]) -> list[Point]:
    return [Point(p.lat, p.lng) for p in items]


def _out(points: list[Point]) -> list[LatLngOut]:
    return [LatLngOut(lat=p.lat, lng=p.lng) for p in points]


def _cells(array: Matrix) -> tuple[list[list[float | None]], list[list[float | None]]]:
    def rows(values: list[list[float]]) -> list[list[float | None]]:
        return [[None if math.isnan(v) else v for v in row] for row in values]

    return rows(array.durations_s.tolist()), rows(array.distances_m.tolist())


ROUTING_ERRORS = ERRORS(400, 401, 422)


@router.post("/route", response_model=RouteOut, responses=ROUTING_ERRORS)
async def route(body: RouteRequest, _: CurrentUser, roads: RouterDep) -> RouteOut:
    """The fastest path through the waypoints in order, with its geometry and one figure per
    leg (seconds, metres)."""
    found = await _run(lambda: roads.route(_points(body.waypoints)))
    return RouteOut(
        duration_s=found.duration_s,
        distance_m=found.distance_m,
        geometry=_out(found.geometry),
        leg_durations_s=found.leg_durations_s,
        leg_distances_m=found.leg_distances_m,
        estimated=found.estimated,
    )


@router.post("/matrix", response_model=MatrixOut, responses=ROUTING_ERRORS)
async def matrix(body: MatrixRequest, _: CurrentUser, roads: RouterDep) -> MatrixOut:
    """Durations (seconds) and distances (metres) from every source to every destination,
    up to 1000 x 1000."""
    sources = _points(body.sources)
    destinations = _points(body.destinations) if body.destinations else sources
    found = await _run(lambda: roads.matrix(sources, destinations))
    durations, distances = _cells(found)
    return MatrixOut(durations_s=durations, distances_m=distances, estimated=found.estimated)


@router.post("/nearest", response_model=NearestOut, responses=ROUTING_ERRORS)
async def nearest(body: NearestRequest, _: CurrentUser, roads: RouterDep) -> NearestOut:
    """The nearest point on a road and how far it is (metres)."""
    snap = await _run(lambda: roads.nearest(Point(body.point.lat, body.point.lng)))
    return NearestOut(
        point=LatLngOut(lat=snap.point.lat, lng=snap.point.lng),
        distance_m=snap.distance_m,
        estimated=snap.estimated,
    )


@router.post("/match", response_model=MatchOut, responses=ROUTING_ERRORS)
async def match(body: MatchRequest, _: CurrentUser, roads: RouterDep) -> MatchOut:
    """Fit a GPS trace to the roads: each fix snapped, the path driven, its length and time."""
    found = await _run(lambda: roads.match(_points(body.points), body.timestamps_s))
    return MatchOut(
        points=[None if p is None else LatLngOut(lat=p.lat, lng=p.lng) for p in found.points],
        geometry=_out(found.geometry),
        distance_m=found.distance_m,
        duration_s=found.duration_s,
        confidence=found.confidence,
        estimated=found.estimated,
    )
