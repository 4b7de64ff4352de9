"""OSRM in-process (``osrm-bindings``) on contraction hierarchies: the default engine.

The only module that imports ``osrm``. It loads a region prepared by
:func:`backend.regions.importer.import_region` (``osrm-extract`` + ``osrm-contract``) from
``REGION_DIR/NAME.osrm`` into this process's memory (Monaco: ~30 MB, well under a second).
The engine answers from several threads at once; every call blocks, so async callers use
``asyncio.to_thread``.

Results are converted to plain values at once (the bindings' ``Object``/``Array`` never
leave this module). Units: seconds, metres, WGS84 degrees.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import osrm

from backend.routing import osrm_responses as r
from backend.routing.port import RoutingError
from backend.routing.results import MatchedTrace, Matrix, Route, Snap
from shared.geo import Point

MAX_TABLE_SIZE = 1000  # locations per side of a matrix
MAX_MATCH_POINTS = 1000  # fixes per trace
MAX_VIAROUTE = 500  # waypoints per route


def _plain(value: Any) -> Any:
    """The bindings' ``Object``/``Array`` as dicts and lists (leaves are already Python)."""
    if isinstance(value, osrm.Object):
        return {key: _plain(value[key]) for key in value}
    if isinstance(value, osrm.Array):
        return [_plain(item) for item in value]
    return value


def _call(method: Any, params: Any) -> Any:
    try:
        return method(params)
    except RuntimeError as exc:  # the bindings raise RuntimeError for every engine refusal
        raise RoutingError(f"OSRM refused the request: {exc}") from exc


class EmbeddedOsrm:
    """The port over an in-process OSRM engine.

    ``max_snap_m``: a point farther than this from every road raises ``OffRoadError``
    (``None`` accepts any snap, as OSRM itself does).
    """

    name = "osrm-embedded"

    def __init__(self, osrm_file: Path, *, max_snap_m: float | None = None) -> None:
        if not Path(f"{osrm_file}.hsgr").exists():
            raise RoutingError(
                f"no contracted region at {osrm_file} (missing .hsgr); "
                "run `lastmile region import FILE.osm.pbf` first"
            )
        self.max_snap_m = max_snap_m
        try:
            self._engine = osrm.OSRM(
                algorithm="CH",
                storage_config=str(osrm_file),
                use_shared_memory=False,
                max_locations_distance_table=MAX_TABLE_SIZE,
                max_locations_map_matching=MAX_MATCH_POINTS,
                max_locations_viaroute=MAX_VIAROUTE,
                max_results_nearest=1,
            )
        except RuntimeError as exc:
            raise RoutingError(f"cannot load the OSRM region {osrm_file}: {exc}") from exc

    def matrix(self, sources: Sequence[Point], destinations: Sequence[Point]) -> Matrix:
        if not sources or not destinations:
            shape = (len(sources), len(destinations))
            return Matrix(np.zeros(shape), np.zeros(shape))
        coords, src_idx, dst_idx = r.table_layout(sources, destinations)
        params = osrm.TableParameters(
            coordinates=r.lnglat(coords),
            sources=src_idx or [],
            destinations=dst_idx or [],
            annotations=["duration", "distance"],
            generate_hints=False,
        )
        answer = _call(self._engine.Table, params)
        r.check_code({"code": answer["code"]})
        r.check_snaps(sources, _plain(answer["sources"]), self.max_snap_m)
        r.check_snaps(destinations, _plain(answer["destinations"]), self.max_snap_m)
        shape = (len(sources), len(destinations))
        # Row by row into lists first: numpy cannot read the bindings' Array directly.
        durations = r.table_array([list(row) for row in answer["durations"]], shape)
        distances = r.table_array([list(row) for row in answer["distances"]], shape)
        return Matrix(durations_s=durations, distances_m=distances)

    def route(self, waypoints: Sequence[Point]) -> Route:
        if len(waypoints) < 2:
            raise RoutingError("a route needs at least two waypoints")
        params = osrm.RouteParameters(
            coordinates=r.lnglat(waypoints),
            geometries="polyline6",
            overview="full",
            generate_hints=False,
        )
        return r.parse_route(_plain(_call(self._engine.Route, params)), waypoints, self.max_snap_m)

    def nearest(self, point: Point) -> Snap:
        params = osrm.NearestParameters(coordinates=r.lnglat([point]), generate_hints=False)
        return r.parse_nearest(_plain(_call(self._engine.Nearest, params)), point, self.max_snap_m)

    def match(
        self, trace: Sequence[Point], timestamps_s: Sequence[float] | None = None
    ) -> MatchedTrace:
        if len(trace) < 2:
            raise RoutingError("a trace needs at least two fixes")
        params = osrm.MatchParameters(
            coordinates=r.lnglat(trace),
            timestamps=[int(t) for t in timestamps_s] if timestamps_s else [],
            geometries="polyline6",
            overview="full",
            gaps="split",
            tidy=False,
            generate_hints=False,
        )
        return r.parse_match(_plain(_call(self._engine.Match, params)), trace)
