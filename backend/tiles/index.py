"""The map feature index of a region: built once from its OSM extract, loaded by the renderer.

``build_index(pbf, region_dir)`` reads the extract once with pyosmium and writes
``region_dir/tiles.npz`` (uncompressed NumPy arrays, loads in milliseconds):

==============  ==============  ============================================================
array           shape, dtype    meaning
==============  ==============  ============================================================
``coords``      (P, 2) float64  every vertex, in world units (Web Mercator on [0, 1]², y down)
``offsets``     (F + 1,) int64  feature ``i`` is ``coords[offsets[i]:offsets[i + 1]]``
``classes``     (F,) uint8      :class:`~backend.tiles.classify.FeatureClass`, sorted ascending
``boxes``       (F, 4) float64  per-feature (min_x, min_y, max_x, max_y), world units
``region_box``  (4,) float64    the extract's bounding box, world units
``meta``        (2,) int64      format version, build time (Unix seconds)
==============  ==============  ============================================================

Areas with holes are stored as one path: the outer ring, then each inner ring followed by a
step back to the outer ring's first vertex, so an even-odd fill draws the holes.
Features are sorted by class, which is also the drawing order. For a city-sized extract a
vectorised scan of ``boxes`` (tens of microseconds) is the tile query; no grid is needed.
"""

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import osmium

from backend.tiles.classify import FeatureClass, classify_area, classify_line
from backend.tiles.coastline import Point, join_ways, sea_rings
from backend.tiles.projection import FloatArray, WorldBox, lnglat_to_world_array

INDEX_FILE = "tiles.npz"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class TileIndex:
    """A loaded feature index (see the module docstring for the arrays)."""

    coords: FloatArray
    offsets: npt.NDArray[np.int64]
    classes: npt.NDArray[np.uint8]
    boxes: FloatArray
    region_box: WorldBox
    built_at: int
    """Unix seconds when the index was built; part of the tile cache's identity."""

    @property
    def feature_count(self) -> int:
        return len(self.classes)

    def count(self, feature_class: FeatureClass) -> int:
        """How many features of one class the index holds."""
        return int(np.count_nonzero(self.classes == feature_class))


def index_path(region_dir: Path) -> Path:
    return region_dir / INDEX_FILE


def load_index(region_dir: Path) -> TileIndex:
    """Load ``region_dir/tiles.npz``; raises FileNotFoundError when it was never built."""
    with np.load(index_path(region_dir), allow_pickle=False) as data:
        meta = data["meta"]
        if int(meta[0]) != FORMAT_VERSION:
            raise FileNotFoundError(f"tile index format {int(meta[0])}, expected {FORMAT_VERSION}")
        box = data["region_box"]
        return TileIndex(
            coords=data["coords"],
            offsets=data["offsets"],
            classes=data["classes"],
            boxes=data["boxes"],
            region_box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
            built_at=int(meta[1]),
        )


class _Collector(osmium.SimpleHandler):
    """Collects drawable features as degree point lists, and the coastline ways."""

    def __init__(self) -> None:
        super().__init__()
        self.features: list[tuple[int, list[Point]]] = []
        self.coastline: list[tuple[list[int], list[Point]]] = []

    def way(self, way: Any) -> None:
        tags = {tag.k: tag.v for tag in way.tags}
        if tags.get("natural") == "coastline":
            points = _way_points(way)
            if points:
                self.coastline.append(([n.ref for n in way.nodes], points))
            return
        feature_class = classify_line(tags)
        if feature_class is None:
            return
        if feature_class is FeatureClass.PIER and way.is_closed():
            return  # drawn as an area
        points = _way_points(way)
        if points and len(points) >= 2:
            self.features.append((feature_class, points))

    def area(self, area: Any) -> None:
        feature_class = classify_area({tag.k: tag.v for tag in area.tags})
        if feature_class is None:
            return
        try:
            for outer in area.outer_rings():
                path = [(n.lon, n.lat) for n in outer]
                anchor = path[0]
                for inner in area.inner_rings(outer):
                    path.extend((n.lon, n.lat) for n in inner)
                    path.append(anchor)
                if len(path) >= 4:
                    self.features.append((feature_class, path))
        except osmium.InvalidLocationError:
            return


def _way_points(way: Any) -> list[Point] | None:
    try:
        return [(n.lon, n.lat) for n in way.nodes]
    except osmium.InvalidLocationError:
        return None  # the extract cut off some of its nodes


def _extract_box(pbf: Path, features: list[tuple[int, list[Point]]]) -> tuple[float, ...]:
    header_box = osmium.io.Reader(str(pbf), osmium.osm.osm_entity_bits.NOTHING).header().box()
    if header_box.valid():
        bottom_left, top_right = header_box.bottom_left, header_box.top_right
        return bottom_left.lon, bottom_left.lat, top_right.lon, top_right.lat
    lngs = [p[0] for _, points in features for p in points]
    lats = [p[1] for _, points in features for p in points]
    return min(lngs), min(lats), max(lngs), max(lats)


def build_index(pbf: Path, region_dir: Path) -> None:
    """Read ``pbf`` once and write the region's feature index to ``region_dir/tiles.npz``.

    Roads by class, railways, waterways, water areas, the sea (from the coastline), green
    areas, pitches, beaches, piers and buildings. The file is replaced atomically, so a
    running backend never reads half an index.
    """
    collector = _Collector()
    collector.apply_file(str(pbf), locations=True)
    west, south, east, north = _extract_box(pbf, collector.features)
    features = collector.features
    chains = join_ways(collector.coastline)
    rings = sea_rings(chains, (west, south, east, north))
    if rings:
        # one path, so the even-odd fill punches the islands out of the sea
        sea: list[Point] = []
        for ring in rings:
            sea.extend(ring)
            sea.append(rings[0][0])
        features.append((FeatureClass.SEA, sea))
    features.sort(key=lambda f: f[0])

    lengths = np.fromiter((len(points) for _, points in features), dtype=np.int64)
    offsets = np.zeros(len(features) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.array([p for _, points in features for p in points], dtype=np.float64)
    flat = flat.reshape(-1, 2)
    coords = lnglat_to_world_array(flat[:, 0], flat[:, 1])
    classes = np.fromiter((c for c, _ in features), dtype=np.uint8, count=len(features))
    boxes = np.empty((len(features), 4), dtype=np.float64)
    if len(features):
        starts = offsets[:-1]
        boxes[:, 0:2] = np.minimum.reduceat(coords, starts, axis=0)
        boxes[:, 2:4] = np.maximum.reduceat(coords, starts, axis=0)
    corners = lnglat_to_world_array(np.array([west, east]), np.array([north, south]))
    region_box = np.array([corners[0, 0], corners[0, 1], corners[1, 0], corners[1, 1]])

    region_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=region_dir, prefix=".tiles-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(
                out,
                coords=coords,
                offsets=offsets,
                classes=classes,
                boxes=boxes,
                region_box=region_box,
                meta=np.array([FORMAT_VERSION, int(time.time())], dtype=np.int64),
            )
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, index_path(region_dir))
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
