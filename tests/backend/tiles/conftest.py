"""A Monaco tile index built once per session from the bundled extract."""

from pathlib import Path

import pytest

from backend.tiles.index import TileIndex, build_index, load_index

MONACO_PBF = Path(__file__).resolve().parents[3] / "regions" / "monaco.osm.pbf"


@pytest.fixture(scope="session")
def tiles_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose regions/monaco holds the index, as `lastmile region import` leaves it."""
    data_dir = tmp_path_factory.mktemp("tiles-data")
    build_index(MONACO_PBF, data_dir / "regions" / "monaco")
    return data_dir


@pytest.fixture(scope="session")
def monaco_index(tiles_data_dir: Path) -> TileIndex:
    return load_index(tiles_data_dir / "regions" / "monaco")
