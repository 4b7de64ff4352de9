"""Map tiles of the demo region: index build, cold render and cached serve, in milliseconds.

Run from the repository root::

    .venv/bin/python bench/tiles.py [--quick]

It builds the feature index of ``regions/monaco.osm.pbf`` into a temporary data dir (timed),
then asks for every tile over the principality at zooms 13-17, one request after another:
first through ``TileService`` (cold: cache empty, then cached), then over real HTTP from the
real backend on a free 127.0.0.1 port, with its own empty cache (cold, then cached). Figures
for people come first; the last line of standard output is one JSON object.
``measure(region_dir, quick)`` returns the same figures for ``bench/routing.py``.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from backend.tiles.index import INDEX_FILE, build_index, index_path
from backend.tiles.projection import lnglat_to_tile
from backend.tiles.service import TileService
from tests.conftest import make_settings
from tests.live_server import run_server

MONACO_PBF = Path(__file__).resolve().parents[1] / "regions" / "monaco.osm.pbf"
PRINCIPALITY = (7.405, 43.723, 7.440, 43.752)
"""(west, south, east, north) in degrees: Monaco itself, where the demo map looks."""
ZOOMS = range(13, 18)


def tile_set(quick: bool) -> list[tuple[int, int, int]]:
    """Every tile over the principality at zooms 13-17 (every third one with ``quick``)."""
    west, south, east, north = PRINCIPALITY
    tiles: list[tuple[int, int, int]] = []
    for z in ZOOMS:
        x0, y0 = lnglat_to_tile(west, north, z)
        x1, y1 = lnglat_to_tile(east, south, z)
        tiles.extend((z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
    return tiles[::3] if quick else tiles


def _percentiles(name: str, samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {f"{name}_ms": round(statistics.median(ordered), 2), f"{name}_p95_ms": round(p95, 2)}


async def _service_pass(service: TileService, tiles: list[tuple[int, int, int]]) -> list[float]:
    samples: list[float] = []
    for z, x, y in tiles:
        started = time.perf_counter()
        await service.tile(z, x, y)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _http_pass(client: httpx.Client, tiles: list[tuple[int, int, int]], expect: str) -> list[float]:
    samples: list[float] = []
    for z, x, y in tiles:
        started = time.perf_counter()
        response = client.get(f"/tiles/{z}/{x}/{y}.png")
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or response.headers["x-tile-cache"] != expect:
            raise RuntimeError(f"tile {z}/{x}/{y}: {response.status_code}, wanted a {expect}")
    return samples


def measure(region_dir: Path, quick: bool) -> dict[str, float]:
    """Time the tiles of an imported region (its ``tiles.npz``), or of the bundled Monaco
    extract when ``region_dir`` has none. ``index_build_s`` always times a build of the
    bundled extract. Keys: tile_cold_ms, tile_cached_ms (HTTP p50s), their _p95_ms,
    tile_service_cold_ms, tile_service_cached_ms (+ _p95_ms), index_build_s, tile_count."""
    tiles = tile_set(quick)
    with tempfile.TemporaryDirectory(prefix="lastmile-tiles-bench-") as tmp:
        built = Path(tmp) / "built"
        started = time.perf_counter()
        build_index(MONACO_PBF, built)
        figures: dict[str, float] = {"index_build_s": round(time.perf_counter() - started, 2)}
        source = index_path(region_dir) if index_path(region_dir).exists() else index_path(built)
        data_dirs = [Path(tmp) / "service", Path(tmp) / "http"]
        for data_dir in data_dirs:
            (data_dir / "regions" / "monaco").mkdir(parents=True)
            shutil.copyfile(source, data_dir / "regions" / "monaco" / INDEX_FILE)

        async def service_passes() -> tuple[list[float], list[float]]:
            service = TileService.from_settings(make_settings(data_dirs[0]))
            await service.index()  # loading is a one-off, not part of a tile's time
            return await _service_pass(service, tiles), await _service_pass(service, tiles)

        cold, cached = asyncio.run(service_passes())
        figures |= _percentiles("tile_service_cold", cold)
        figures |= _percentiles("tile_service_cached", cached)

        with run_server(make_settings(data_dirs[1])) as url, httpx.Client(base_url=url) as client:
            warm_up = client.get("/tiles/0/0/0.png")  # loads the index
            warm_up.raise_for_status()
            figures |= _percentiles("tile_cold", _http_pass(client, tiles, "miss"))
            figures |= _percentiles("tile_cached", _http_pass(client, tiles, "hit"))
    figures["tile_count"] = len(tiles)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="every third tile, well under a minute"
    )
    args = parser.parse_args(argv)
    load_before = round(os.getloadavg()[0], 2)
    figures = measure(Path(tempfile.gettempdir()) / "no-such-region", args.quick)
    print(f"index build (Monaco extract): {figures['index_build_s']:.2f} s")
    print(f"tiles: {int(figures['tile_count'])} over Monaco, zooms {ZOOMS.start}-{ZOOMS.stop - 1}")
    for label, key in (
        ("TileService cold (render + write)", "tile_service_cold"),
        ("TileService cached (disk read)", "tile_service_cached"),
        ("HTTP cold", "tile_cold"),
        ("HTTP cached", "tile_cached"),
    ):
        p50, p95 = figures[key + "_ms"], figures[key + "_p95_ms"]
        print(f"  {label:34} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")
    figures["load_avg_1m_before"] = load_before
    figures["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
