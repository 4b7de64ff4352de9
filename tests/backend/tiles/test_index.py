"""build_index on the bundled Monaco extract: roads by class, water, sea, buildings."""

from pathlib import Path

import numpy as np

from backend.tiles.classify import FeatureClass, classify_area, classify_line
from backend.tiles.index import INDEX_FILE, TileIndex
from backend.tiles.projection import lnglat_to_world


def test_the_index_is_one_small_file(tiles_data_dir: Path) -> None:
    files = list((tiles_data_dir / "regions" / "monaco").iterdir())
    assert [f.name for f in files] == [INDEX_FILE]  # no temporary file left behind
    assert files[0].stat().st_size < 20_000_000


def test_monaco_has_roads_water_and_buildings(monaco_index: TileIndex) -> None:
    counts = {c: monaco_index.count(c) for c in FeatureClass}
    assert counts[FeatureClass.BUILDING] > 20_000
    assert counts[FeatureClass.PRIMARY] > 100
    assert counts[FeatureClass.MINOR] > 300
    assert counts[FeatureClass.PATH] > 300
    assert counts[FeatureClass.MOTORWAY] > 10
    assert counts[FeatureClass.WATER] > 0
    assert counts[FeatureClass.SEA] == 1  # all coast rings in one even-odd path


def test_features_are_in_drawing_order_with_true_boxes(monaco_index: TileIndex) -> None:
    idx = monaco_index
    assert np.all(np.diff(idx.classes.astype(np.int64)) >= 0)
    assert idx.offsets[0] == 0
    assert idx.offsets[-1] == len(idx.coords)
    for i in np.linspace(0, idx.feature_count - 1, 50).astype(int):
        pts = idx.coords[idx.offsets[i] : idx.offsets[i + 1]]
        assert np.allclose(idx.boxes[i, :2], pts.min(axis=0))
        assert np.allclose(idx.boxes[i, 2:], pts.max(axis=0))


def test_the_region_box_is_the_extracts(monaco_index: TileIndex) -> None:
    min_x, min_y = lnglat_to_world(7.349, 43.77)
    max_x, max_y = lnglat_to_world(7.491, 43.71)
    assert np.allclose(monaco_index.region_box, (min_x, min_y, max_x, max_y))


def test_classification() -> None:
    assert classify_line({"highway": "primary_link"}) is FeatureClass.PRIMARY
    assert classify_line({"highway": "residential", "tunnel": "yes"}) is FeatureClass.TUNNEL
    assert classify_line({"highway": "bus_stop"}) is None
    assert classify_line({"waterway": "stream"}) is FeatureClass.WATERWAY
    assert classify_area({"building": "yes"}) is FeatureClass.BUILDING
    assert classify_area({"building": "no", "leisure": "park"}) is FeatureClass.GREEN
    assert classify_area({"natural": "water"}) is FeatureClass.WATER
    assert classify_area({"landuse": "basin"}) is FeatureClass.WATER
    assert classify_area({"amenity": "parking"}) is None
