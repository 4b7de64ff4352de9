"""GET /tiles/{z}/{x}/{y}.png over real HTTP: rendered once, then served from the disk cache."""

import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from backend.tiles.projection import lnglat_to_tile
from tests.conftest import make_settings
from tests.live_server import run_server

MONTE_CARLO = (7.4246, 43.7384)


@pytest.fixture(scope="module")
def tiles_url(tiles_data_dir: Path) -> Iterator[str]:
    with run_server(make_settings(tiles_data_dir)) as url:
        yield url


def test_a_cold_tile_is_rendered_then_served_from_disk(
    tiles_url: str, tiles_data_dir: Path
) -> None:
    x, y = lnglat_to_tile(*MONTE_CARLO, 16)
    cache_file = tiles_data_dir / "tiles" / "monaco" / "16" / str(x) / f"{y}.png"
    assert not cache_file.exists()
    with httpx.Client(base_url=tiles_url) as client:
        started = time.perf_counter()
        cold = client.get(f"/tiles/16/{x}/{y}.png")
        cold_s = time.perf_counter() - started
        assert cold.status_code == 200
        assert cold.headers["content-type"] == "image/png"
        assert cold.headers["x-tile-cache"] == "miss"
        assert "max-age" in cold.headers["cache-control"]
        # The apps' maps (another origin) draw tiles on a canvas: only with this header.
        assert cold.headers["access-control-allow-origin"] == "*"
        assert Image.open(io.BytesIO(cold.content)).size == (256, 256)
        assert cache_file.read_bytes() == cold.content

        started = time.perf_counter()
        warm = client.get(f"/tiles/16/{x}/{y}.png")
        warm_s = time.perf_counter() - started
        assert warm.headers["x-tile-cache"] == "hit"
        assert warm.content == cold.content
        assert warm.headers["etag"] == cold.headers["etag"]
        assert warm_s < cold_s

        again = client.get(
            f"/tiles/16/{x}/{y}.png", headers={"If-None-Match": cold.headers["etag"]}
        )
        assert again.status_code == 304
        assert again.content == b""


def test_a_tile_far_away_is_served_without_caching(tiles_url: str, tiles_data_dir: Path) -> None:
    x, y = lnglat_to_tile(2.35, 48.85, 12)
    response = httpx.get(f"{tiles_url}/tiles/12/{x}/{y}.png")
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.getcolors(maxcolors=1) is not None  # one colour only
    assert not (tiles_data_dir / "tiles" / "monaco" / "12" / str(x)).exists()


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/21/0/0.png",
        "/tiles/-1/0/0.png",
        "/tiles/2/4/0.png",
        "/tiles/2/0/-1.png",
        "/tiles/a/0/0.png",
        "/tiles/3/1/1.5.png",
        "/tiles/3/1/1.jpg",
    ],
)
def test_nonsense_tiles_are_json_404s(tiles_url: str, path: str) -> None:
    response = httpx.get(tiles_url + path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_tiles_are_public_and_not_in_the_api_document(tiles_url: str) -> None:
    schema = httpx.get(f"{tiles_url}/openapi.json").json()
    assert not any(p.startswith("/tiles") for p in schema["paths"])


def test_a_region_never_imported_answers_503(tmp_path: Path) -> None:
    with run_server(make_settings(tmp_path)) as url:
        response = httpx.get(f"{url}/tiles/15/17059/11948.png")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "region_not_imported"
    assert "lastmile region import" in error["message"]
