"""What a person sees on a rendered tile: streets, the harbour, the attribution."""

import io

import numpy as np
from PIL import Image

from backend.tiles.classify import FeatureClass
from backend.tiles.index import TileIndex
from backend.tiles.projection import lnglat_to_tile, lnglat_to_world, world_to_tile_pixel
from backend.tiles.render import background_png, render_tile
from backend.tiles.style import BACKGROUND, BUILDING, ROAD_FILL, WATER

HARBOUR = (7.4255, 43.7345)
"""Port Hercule, open water (lng, lat)."""
MONTE_CARLO = (7.4246, 43.7384)


def pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (256, 256)
    return np.asarray(image.convert("RGB")).astype(np.int16)


def near(rgb: np.ndarray, colour: tuple[int, int, int], tolerance: int = 6) -> np.ndarray:
    return np.all(np.abs(rgb - np.array(colour)) <= tolerance, axis=-1)


def test_a_monaco_tile_shows_streets_and_the_sea(monaco_index: TileIndex) -> None:
    z = 15
    x, y = lnglat_to_tile(*MONTE_CARLO, z)
    rgb = pixels(render_tile(monaco_index, z, x, y))
    road = np.zeros(rgb.shape[:2], dtype=bool)
    for colour in set(ROAD_FILL.values()):
        road |= near(rgb, colour)
    assert road.mean() > 0.08, f"only {road.mean():.1%} of the tile is road"
    water = near(rgb, WATER)
    assert water.mean() > 0.1, f"only {water.mean():.1%} of the tile is water"
    hx, hy = world_to_tile_pixel(*lnglat_to_world(*HARBOUR), z, x, y)
    assert water[int(hy) - 3 : int(hy) + 4, int(hx) - 3 : int(hx) + 4].all()


def test_deep_zoom_shows_buildings_and_zoomed_out_still_shows_the_main_roads(
    monaco_index: TileIndex,
) -> None:
    x, y = lnglat_to_tile(*MONTE_CARLO, 17)
    rgb = pixels(render_tile(monaco_index, 17, x, y))
    assert near(rgb, BUILDING).mean() > 0.1
    x, y = lnglat_to_tile(*MONTE_CARLO, 12)
    rgb = pixels(render_tile(monaco_index, 12, x, y))
    assert near(rgb, ROAD_FILL[FeatureClass.PRIMARY]).sum() > 100


def test_tiles_carry_the_attribution(monaco_index: TileIndex) -> None:
    x, y = lnglat_to_tile(*MONTE_CARLO, 16)
    rgb = pixels(render_tile(monaco_index, 16, x, y))
    corner = rgb[-12:, -140:]
    dark_text = np.all(corner < 140, axis=-1)
    assert dark_text.sum() > 60  # the letters of "© OpenStreetMap contributors"


def test_a_tile_far_away_is_plain_background(monaco_index: TileIndex) -> None:
    x, y = lnglat_to_tile(2.35, 48.85, 15)  # Paris
    png = render_tile(monaco_index, 15, x, y)
    assert png == background_png()
    rgb = pixels(png)
    assert near(rgb, BACKGROUND, tolerance=0).all()


def test_a_tile_next_to_the_region_but_outside_it_is_plain(monaco_index: TileIndex) -> None:
    x, y = lnglat_to_tile(7.6, 43.74, 14)  # east of the extract's box, over Italy's border
    assert render_tile(monaco_index, 14, x, y) == background_png()
