"""Coastline ways become sea rings: land on the left, sea on the right, closed by the box."""

from PIL import Image, ImageDraw

from backend.tiles.coastline import join_ways, sea_rings

BOX = (0.0, 0.0, 10.0, 10.0)


def _fill(rings: list[list[tuple[float, float]]]) -> Image.Image:
    """Even-odd fill of the rings as one path, as the index stores the sea (north up)."""
    path = [point for ring in rings for point in [*ring, rings[0][0]]]
    image = Image.new("L", (10, 10), 0)
    ImageDraw.Draw(image).polygon([(lng, 10 - lat) for lng, lat in path], fill=1)
    return image


def test_ways_join_end_to_end() -> None:
    chains = join_ways(
        [([3, 4], [(3.0, 0.0), (4.0, 0.0)]), ([1, 2, 3], [(1.0, 0.0), (2.0, 0.0), (3.0, 0.0)])]
    )
    assert chains == [[(1.0, 0.0), (2.0, 0.0), (3.0, 0.0), (4.0, 0.0)]]


def test_a_coast_running_east_has_the_sea_to_the_south() -> None:
    rings = sea_rings([[(0.0, 5.0), (10.0, 5.0)]], BOX)
    image = _fill(rings)
    assert image.getpixel((5, 8)) == 1  # south: sea
    assert image.getpixel((5, 2)) == 0  # north: land


def test_a_coast_running_west_has_the_sea_to_the_north() -> None:
    rings = sea_rings([[(10.0, 5.0), (0.0, 5.0)]], BOX)
    image = _fill(rings)
    assert image.getpixel((5, 2)) == 1
    assert image.getpixel((5, 8)) == 0


def test_an_island_is_a_closed_ring() -> None:
    island = [(4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0), (4.0, 4.0)]
    assert sea_rings([island], BOX) == [island]
