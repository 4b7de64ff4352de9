"""The routing port over an OSRM HTTP server (``osrm-routed``), through httpx.

For production setups where the road network lives in its own process or machine, or a
region too large for the backend's memory. The URL is the ``LASTMILE_ROUTING_URL`` setting
(e.g. ``http://osrm:5000``); the profile segment of OSRM's paths is ``driving``.

Coordinates travel as one ``polyline6(...)`` path segment (1e-6 degree, the precision OSRM
stores anyway): a 1000-point table is ~10 KB of URL instead of ~22 KB of decimals, and the
answers are the same as the embedded engine's. The server must allow the table size
(``osrm-routed --max-table-size 1000``). Units: seconds, metres, WGS84 degrees.
"""

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from backend.routing import osrm_responses as r
from backend.routing.port import RoutingError
from backend.routing.results import MatchedTrace, Matrix, Route, Snap
from shared.geo import Point

DEFAULT_TIMEOUT_S = 30.0


def _encode_value(value: int) -> str:
    value = ~(value << 1) if value < 0 else value << 1
    chunks = []
    while value >= 0x20:
        chunks.append(chr((0x20 | (value & 0x1F)) + 63))
        value >>= 5
    chunks.append(chr(value + 63))
    return "".join(chunks)


def encode_polyline6(points: Sequence[Point]) -> str:
    """Google's encoded polyline at 1e-6 degree precision (lat, lng order)."""
    out = []
    last_lat = last_lng = 0
    for p in points:
        lat, lng = round(p.lat * 1e6), round(p.lng * 1e6)
        out.append(_encode_value(lat - last_lat))
        out.append(_encode_value(lng - last_lng))
        last_lat, last_lng = lat, lng
    return "".join(out)


class HttpOsrm:
    """The port against ``base_url``; one pooled httpx client, closed by :meth:`close`."""

    name = "osrm-http"

    def __init__(
        self,
        base_url: str,
        *,
        max_snap_m: float | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_snap_m = max_snap_m
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._client.close()

    def _get(self, service: str, points: Sequence[Point], params: dict[str, str]) -> Any:
        path = f"/{service}/v1/driving/polyline6({quote(encode_polyline6(points), safe='')})"
        query = {**params, "generate_hints": "false"}
        try:
            try:
                response = self._client.get(path, params=query)
            except httpx.RemoteProtocolError:
                # osrm-routed closes a kept-alive connection after a while; the pool may
                # hand us one it has just closed. A GET is safe to send again, once.
                response = self._client.get(path, params=query)
        except httpx.HTTPError as exc:
            raise RoutingError(f"the OSRM server at {self.base_url} is unreachable: {exc}") from exc
        try:
            answer = response.json()
        except ValueError as exc:
            raise RoutingError(
                f"the OSRM server answered {response.status_code} without JSON"
            ) from exc
        if response.status_code >= 500:
            raise RoutingError(f"the OSRM server failed ({response.status_code}): {answer}")
        return answer

    def matrix(self, sources: Sequence[Point], destinations: Sequence[Point]) -> Matrix:
        import numpy as np

        shape = (len(sources), len(destinations))
        if not sources or not destinations:
            return Matrix(np.zeros(shape), np.zeros(shape))
        coords, src_idx, dst_idx = r.table_layout(sources, destinations)
        params = {"annotations": "duration,distance"}
        if src_idx is not None and dst_idx is not None:
            params["sources"] = ";".join(map(str, src_idx))
            params["destinations"] = ";".join(map(str, dst_idx))
        answer = self._get("table", coords, params)
        r.check_code(answer)
        r.check_snaps(sources, answer["sources"], self.max_snap_m)
        r.check_snaps(destinations, answer["destinations"], self.max_snap_m)
        return Matrix(
            durations_s=r.table_array(answer.get("durations"), shape),
            distances_m=r.table_array(answer.get("distances"), shape),
        )

    def route(self, waypoints: Sequence[Point]) -> Route:
        if len(waypoints) < 2:
            raise RoutingError("a route needs at least two waypoints")
        answer = self._get("route", waypoints, {"geometries": "polyline6", "overview": "full"})
        return r.parse_route(answer, waypoints, self.max_snap_m)

    def nearest(self, point: Point) -> Snap:
        return r.parse_nearest(self._get("nearest", [point], {}), point, self.max_snap_m)

    def match(
        self, trace: Sequence[Point], timestamps_s: Sequence[float] | None = None
    ) -> MatchedTrace:
        if len(trace) < 2:
            raise RoutingError("a trace needs at least two fixes")
        params = {"geometries": "polyline6", "overview": "full", "gaps": "split"}
        if timestamps_s:
            params["timestamps"] = ";".join(str(int(t)) for t in timestamps_s)
        return r.parse_match(self._get("match", trace, params), trace)
