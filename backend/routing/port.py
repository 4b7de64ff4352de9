"""The routing port: what the rest of the backend may ask of any routing engine."""

from collections.abc import Sequence
from typing import Protocol

from backend.routing.results import MatchedTrace, Matrix, Route, Snap
from shared.geo import Point


class RoutingError(Exception):
    """The engine could not answer (no route, engine down, bad input)."""


class OffRoadError(RoutingError):
    """A point lies farther from any road than the allowed snapping radius."""

    def __init__(self, point: Point, distance_m: float | None, limit_m: float) -> None:
        self.point = point
        self.distance_m = distance_m
        self.limit_m = limit_m
        where = (
            "no road found"
            if distance_m is None
            else f"the nearest road is {distance_m:.0f} m away"
        )
        super().__init__(
            f"point ({point.lat:.5f}, {point.lng:.5f}) is too far from any known road: "
            f"{where}, more than {limit_m:.0f} m"
        )


class RouteSource(Protocol):
    """The one call most users need: a route through waypoints (any ``RoutingEngine``
    fits). Blocking: call it off the event loop."""

    def route(self, waypoints: Sequence[Point]) -> Route: ...


class RoutingEngine(Protocol):
    """Blocking calls; callers run them off the event loop (``asyncio.to_thread``)."""

    name: str

    def matrix(self, sources: Sequence[Point], destinations: Sequence[Point]) -> Matrix: ...

    def route(self, waypoints: Sequence[Point]) -> Route: ...

    def nearest(self, point: Point) -> Snap: ...

    def match(
        self, trace: Sequence[Point], timestamps_s: Sequence[float] | None = None
    ) -> MatchedTrace: ...
