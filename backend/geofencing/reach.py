"""Where a vehicle can actually get to near a stop, so its arrival fence covers it.

An address can lie well off the drivable network (a pedestrian old town, a building deep
in an estate): the driver parks on the nearest road they can reach and walks. The routing
engine knows that road: a route to the address from the route's previous stop ends where
a vehicle can get (a lane cut off from the network is not taken).
A stop's arrival circle then grows to cover that point (plus a margin), and the stop
rules count standing there as standing at the stop.

:class:`Reach` remembers the answer per place (blocking: call it off the event loop).
"""

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

from backend.geofencing.route_fences import OpenStop
from backend.routing.port import RouteSource, RoutingError
from shared.geo import Point, haversine_m

MAX_REACH_M = 1_000.0  # farther than this, the fence would be meaningless: keep the default


@dataclass(frozen=True, slots=True)
class Parking:
    point: Point  # the nearest point a vehicle can reach
    distance_m: float  # from the stop's own point


class Reach:
    def __init__(self, routing: RouteSource, max_places: int = 200_000) -> None:
        self._routing = routing
        self._known: dict[tuple[float, float], Parking | None] = {}
        self._max_places = max_places
        self._lock = threading.Lock()

    def parking(self, at: Point, coming_from: Point) -> Parking | None:
        """Where a vehicle coming from ``coming_from`` gets to for ``at``."""
        key = (round(at.lat, 6), round(at.lng, 6))
        with self._lock:
            if key in self._known:
                return self._known[key]
        try:
            geometry = self._routing.route([coming_from, at]).geometry
            found = geometry[-1] if geometry else None
        except RoutingError:
            found = None
        parking = Parking(found, haversine_m(at, found)) if found is not None else None
        if parking is not None and parking.distance_m > MAX_REACH_M:
            parking = None
        with self._lock:
            if len(self._known) >= self._max_places:
                self._known.clear()
            self._known[key] = parking
        return parking

    def known(self, at: Point) -> bool:
        with self._lock:
            return (round(at.lat, 6), round(at.lng, 6)) in self._known

    def apply(self, stops: Iterable[OpenStop], *, route_unknown: bool = True) -> list[OpenStop]:
        """``stops`` (a route's, in order) with where a vehicle gets to near each, routing
        the unknown ones from the stop before (the first from the one after); with
        ``route_unknown`` False, unknown ones are left as they are (no blocking)."""
        given = list(stops)
        points = [Point(s.lat, s.lng) for s in given]
        out = []
        for i, stop in enumerate(given):
            if not route_unknown and not self.known(points[i]):
                out.append(stop)
                continue
            neighbour = points[i - 1] if i > 0 else points[min(1, len(points) - 1)]
            parking = self.parking(points[i], neighbour)
            if parking is None or parking.distance_m < 1.0:
                out.append(stop)
            else:
                out.append(replace(stop, park=parking.point, reach_m=parking.distance_m))
        return out
