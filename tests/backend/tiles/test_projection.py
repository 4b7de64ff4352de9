"""Web Mercator and tile-grid arithmetic: round trips and tile bounds, by Hypothesis."""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from backend.tiles.projection import (
    MAX_LAT,
    TILE_SIZE_PX,
    is_valid_tile,
    lnglat_to_tile,
    lnglat_to_world,
    lnglat_to_world_array,
    tile_lnglat_bounds,
    tile_world_bounds,
    world_to_lnglat,
    world_to_mercator_m,
    world_to_tile,
    world_to_tile_pixel,
)

lngs = st.floats(-180, 180, exclude_max=True)
lats = st.floats(-85, 85)
zooms = st.integers(0, 20)


@given(lngs, lats)
def test_lnglat_world_round_trip(lng: float, lat: float) -> None:
    x, y = lnglat_to_world(lng, lat)
    assert 0 <= x <= 1  # 180° W is 0; just under 180° E may round to 1.0
    assert 0 < y < 1
    back_lng, back_lat = world_to_lnglat(x, y)
    assert math.isclose(back_lng, lng, abs_tol=1e-9)
    assert math.isclose(back_lat, lat, abs_tol=1e-9)


@given(st.lists(st.tuples(lngs, lats), min_size=1, max_size=20))
def test_array_projection_matches_scalar(points: list[tuple[float, float]]) -> None:
    arr = np.array(points)
    world = lnglat_to_world_array(arr[:, 0], arr[:, 1])
    for (lng, lat), (x, y) in zip(points, world.tolist(), strict=True):
        sx, sy = lnglat_to_world(lng, lat)
        assert math.isclose(x, sx, abs_tol=1e-12)
        assert math.isclose(y, sy, abs_tol=1e-12)


@given(lngs, lats, zooms)
def test_the_tile_of_a_point_contains_it(lng: float, lat: float, z: int) -> None:
    tx, ty = lnglat_to_tile(lng, lat, z)
    assert is_valid_tile(z, tx, ty)
    west, south, east, north = tile_lnglat_bounds(z, tx, ty)
    assert west - 1e-9 <= lng <= east + 1e-9
    assert south - 1e-9 <= lat <= north + 1e-9
    px, py = world_to_tile_pixel(*lnglat_to_world(lng, lat), z, tx, ty)
    assert -1e-6 <= px <= TILE_SIZE_PX + 1e-6
    assert -1e-6 <= py <= TILE_SIZE_PX + 1e-6


@given(zooms, st.data())
def test_neighbouring_tiles_share_edges(z: int, data: st.DataObject) -> None:
    n = 1 << z
    x = data.draw(st.integers(0, max(0, n - 2)))
    y = data.draw(st.integers(0, max(0, n - 2)))
    a = tile_world_bounds(z, x, y)
    assert math.isclose(a[2] - a[0], 1 / n)
    if n > 1:
        assert tile_world_bounds(z, x + 1, y)[0] == a[2]
        assert tile_world_bounds(z, x, y + 1)[1] == a[3]
    # the four children of a tile tile it exactly
    children = [tile_world_bounds(z + 1, 2 * x + i, 2 * y + j) for i in (0, 1) for j in (0, 1)]
    assert min(c[0] for c in children) == a[0]
    assert max(c[3] for c in children) == a[3]


def test_the_world_tile_and_its_corners() -> None:
    assert tile_world_bounds(0, 0, 0) == (0.0, 0.0, 1.0, 1.0)
    west, south, east, north = tile_lnglat_bounds(0, 0, 0)
    assert (west, east) == (-180.0, 180.0)
    assert math.isclose(north, MAX_LAT)
    assert math.isclose(south, -MAX_LAT)
    assert world_to_mercator_m(0.5, 0.5) == (0.0, 0.0)
    assert math.isclose(world_to_mercator_m(1.0, 0.0)[0], 20037508.342789244)
    assert world_to_tile(1.0, 1.0, 3) == (7, 7)  # the far edge clamps into the grid


@given(st.integers(-3, 25), st.integers(-5, 1 << 21), st.integers(-5, 1 << 21))
def test_validity(z: int, x: int, y: int) -> None:
    expected = 0 <= z <= 20 and 0 <= x < (1 << z) and 0 <= y < (1 << z)
    assert is_valid_tile(z, x, y) is expected
