"""Draw one 256x256 PNG tile from a :class:`~backend.tiles.index.TileIndex` with Pillow.

The tile is drawn at ``SUPERSAMPLE`` times (512x512) and box-filtered down, which antialiases
edges for a few milliseconds. Every tile that shows map data carries a small
"© OpenStreetMap contributors" in its bottom-right corner (ODbL): a map client stitching
tiles shows it once per tile, subtly, so any map built from these tiles is attributed even
when the client shows no attribution of its own. Tiles without data are plain background.
"""

import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from backend.tiles.classify import AREA_CLASSES, FeatureClass
from backend.tiles.index import TileIndex
from backend.tiles.projection import TILE_SIZE_PX, WorldBox, boxes_intersect, tile_world_bounds
from backend.tiles.style import (
    AREA_FILL,
    BACKGROUND,
    BUILDING_OUTLINE,
    BUILDING_OUTLINE_MIN_ZOOM,
    CASING,
    LINE_FILL,
    area_visible,
    casing_width_px,
    line_width_px,
)

SUPERSAMPLE = 2
STYLE_VERSION = 1
"""Bump when the look changes: cached tiles and ETags of older styles are then dropped."""
ATTRIBUTION = "© OpenStreetMap contributors"
PNG_COMPRESS_LEVEL = 3
"""zlib level: 3 costs about a third of the default 6's time for files ~10% larger."""
_MIN_BUILDING_PX = 1.0
"""Buildings smaller than this on the supersampled canvas (both sides) are skipped."""


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()


@lru_cache(maxsize=1)
def background_png() -> bytes:
    """The plain tile for places the region's data does not reach."""
    return _encode(Image.new("RGB", (TILE_SIZE_PX, TILE_SIZE_PX), BACKGROUND))


@lru_cache(maxsize=1)
def _attribution_patch() -> Image.Image:
    font = ImageFont.load_default(size=9)
    left, top, right, bottom = (round(v) for v in font.getbbox(ATTRIBUTION))
    pad = 2
    patch = Image.new(
        "RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (255, 255, 255, 150)
    )
    ImageDraw.Draw(patch).text(
        (pad - left, pad - top), ATTRIBUTION, font=font, fill=(80, 80, 80, 230)
    )
    return patch


def _attribute(image: Image.Image) -> None:
    patch = _attribution_patch()
    image.paste(patch, (image.width - patch.width, image.height - patch.height), patch)


def _select(index: TileIndex, box: WorldBox, margin: float) -> np.ndarray:
    """Indices (ascending, so in drawing order) of features whose box meets ``box`` grown
    by ``margin`` world units."""
    b = index.boxes
    hit = (
        (b[:, 0] <= box[2] + margin)
        & (b[:, 2] >= box[0] - margin)
        & (b[:, 1] <= box[3] + margin)
        & (b[:, 3] >= box[1] - margin)
    )
    return np.flatnonzero(hit)


def _pixel_paths(
    index: TileIndex, selected: np.ndarray, z: int, x: int, y: int
) -> tuple[list[float], list[int]]:
    """All vertices of the selected features as one flat [x0, y0, x1, y1, ...] list in
    canvas pixels, and where each feature starts in it (in list items, with an end mark)."""
    starts = index.offsets[selected]
    lengths = index.offsets[selected + 1] - starts
    bounds = np.zeros(len(selected) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    # one gather for every vertex: position within its feature + the feature's start
    gather = np.arange(bounds[-1]) - np.repeat(bounds[:-1] - starts, lengths)
    scale = TILE_SIZE_PX * SUPERSAMPLE
    n = float(1 << z)
    pixels = (index.coords[gather] * n - np.array([x, y], dtype=np.float64)) * scale
    flat: list[float] = pixels.ravel().tolist()
    return flat, (bounds * 2).tolist()


def render_tile(index: TileIndex, z: int, x: int, y: int) -> bytes:
    """The PNG bytes of tile ``z/x/y`` (the caller validates the numbers)."""
    box = tile_world_bounds(z, x, y)
    if not boxes_intersect(box, index.region_box):
        return background_png()
    canvas_px = TILE_SIZE_PX * SUPERSAMPLE
    world_per_px = 1.0 / ((1 << z) * TILE_SIZE_PX)
    max_width_px = max(casing_width_px(FeatureClass.MOTORWAY, z), 12.0)
    selected = _select(index, box, max_width_px * world_per_px)
    classes = index.classes[selected]

    # drop what this zoom does not show before paying for its vertices
    keep = np.ones(len(selected), dtype=bool)
    for feature_class in FeatureClass:
        visible = (
            area_visible(feature_class, z)
            if feature_class in AREA_CLASSES
            else line_width_px(feature_class, z) > 0
        )
        if not visible:
            keep &= classes != feature_class
    buildings = classes == FeatureClass.BUILDING
    if buildings.any():
        b = index.boxes[selected]
        min_side = np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
        keep &= ~buildings | (min_side >= _MIN_BUILDING_PX * world_per_px / SUPERSAMPLE)
    selected = selected[keep]
    classes = classes[keep]

    image = Image.new("RGB", (canvas_px, canvas_px), BACKGROUND)
    if len(selected):
        flat, bounds = _pixel_paths(index, selected, z, x, y)
        _draw(ImageDraw.Draw(image), [int(c) for c in classes], flat, bounds, z)
    image = image.reduce(SUPERSAMPLE)
    _attribute(image)
    return _encode(image)


def _draw(
    draw: ImageDraw.ImageDraw, classes: list[int], flat: list[float], bounds: list[int], z: int
) -> None:
    outline = BUILDING_OUTLINE if z >= BUILDING_OUTLINE_MIN_ZOOM else None
    lines: list[tuple[FeatureClass, list[float]]] = []
    for i, code in enumerate(classes):
        feature_class = FeatureClass(code)
        path = flat[bounds[i] : bounds[i + 1]]
        if feature_class in AREA_CLASSES:
            if feature_class is FeatureClass.BUILDING:
                draw.polygon(path, fill=AREA_FILL[feature_class], outline=outline)
            else:
                draw.polygon(path, fill=AREA_FILL[feature_class])
        else:
            lines.append((feature_class, path))
    # all casings first, then all fills, so crossings of the same class join cleanly
    for feature_class, path in lines:
        width = casing_width_px(feature_class, z) * SUPERSAMPLE
        if width:
            _polyline(draw, path, CASING, width)
    for feature_class, path in lines:
        width = line_width_px(feature_class, z) * SUPERSAMPLE
        _polyline(draw, path, LINE_FILL[feature_class], width)


def _polyline(
    draw: ImageDraw.ImageDraw, path: list[float], colour: tuple[int, int, int], width: float
) -> None:
    w = max(1, round(width))
    draw.line(path, fill=colour, width=w, joint="curve" if w > 3 else None)
