"""The map's look: colours, and line widths by class and zoom. Pure data and arithmetic.

A light style in the spirit of openstreetmap-carto: warm grey land, blue water, green parks,
grey-beige buildings, white roads with a grey casing, major roads faintly tinted.
Widths are in output pixels (the renderer multiplies by its supersampling factor).
"""

from dataclasses import dataclass

from backend.tiles.classify import FeatureClass

Rgb = tuple[int, int, int]

BACKGROUND: Rgb = (242, 239, 233)
WATER: Rgb = (170, 211, 223)
BUILDING: Rgb = (217, 208, 201)
BUILDING_OUTLINE: Rgb = (196, 182, 171)
CASING: Rgb = (176, 168, 160)

AREA_FILL: dict[FeatureClass, Rgb] = {
    FeatureClass.SEA: WATER,
    FeatureClass.GREEN: (205, 235, 176),
    FeatureClass.SAND: (245, 233, 198),
    FeatureClass.PITCH: (170, 224, 203),
    FeatureClass.WATER: WATER,
    FeatureClass.PIER_AREA: (232, 228, 220),
    FeatureClass.PEDESTRIAN_AREA: (221, 221, 232),
    FeatureClass.BUILDING: BUILDING,
}

ROAD_FILL: dict[FeatureClass, Rgb] = {
    FeatureClass.MOTORWAY: (252, 214, 164),
    FeatureClass.TRUNK: (252, 214, 164),
    FeatureClass.PRIMARY: (253, 235, 192),
    FeatureClass.SECONDARY: (255, 250, 220),
    FeatureClass.TERTIARY: (255, 255, 255),
    FeatureClass.MINOR: (255, 255, 255),
    FeatureClass.SERVICE: (255, 255, 255),
    FeatureClass.PATH: (250, 250, 248),
}
"""Road fill colours; tests count these as "road pixels"."""

LINE_FILL: dict[FeatureClass, Rgb] = {
    **ROAD_FILL,
    FeatureClass.WATERWAY: WATER,
    FeatureClass.TUNNEL: (214, 208, 202),
    FeatureClass.RAIL: (150, 150, 150),
    FeatureClass.PIER: (232, 228, 220),
}


@dataclass(frozen=True, slots=True)
class LineStyle:
    width_px_z16: float
    """Fill width at zoom 16, output pixels."""
    min_zoom: int
    """Not drawn below this zoom."""
    casing: bool = True


LINE_STYLE: dict[FeatureClass, LineStyle] = {
    FeatureClass.MOTORWAY: LineStyle(10.0, 0),
    FeatureClass.TRUNK: LineStyle(10.0, 0),
    FeatureClass.PRIMARY: LineStyle(9.0, 0),
    FeatureClass.SECONDARY: LineStyle(8.0, 10),
    FeatureClass.TERTIARY: LineStyle(7.0, 11),
    FeatureClass.MINOR: LineStyle(6.0, 13),
    FeatureClass.SERVICE: LineStyle(3.5, 14),
    FeatureClass.PATH: LineStyle(2.0, 15),
    FeatureClass.TUNNEL: LineStyle(3.0, 14, casing=False),
    FeatureClass.RAIL: LineStyle(1.5, 12, casing=False),
    FeatureClass.WATERWAY: LineStyle(2.5, 12, casing=False),
    FeatureClass.PIER: LineStyle(4.0, 14, casing=False),
}

AREA_MIN_ZOOM: dict[FeatureClass, int] = {
    FeatureClass.BUILDING: 14,
    FeatureClass.PEDESTRIAN_AREA: 14,
    FeatureClass.PIER_AREA: 13,
}
"""Areas not listed are drawn at every zoom."""

CASING_MIN_ZOOM = 13
CASING_EXTRA_PX = 1.5
"""The casing is this much wider than the fill, output pixels (0.75 px each side)."""
BUILDING_OUTLINE_MIN_ZOOM = 16


def line_width_px(feature_class: FeatureClass, zoom: int) -> float:
    """Fill width of a line class at ``zoom``, output pixels (0 when not drawn).

    Widths grow by 2**0.75 per zoom level (slower than the map's 2x), so roads stay readable
    zoomed out and do not swallow the blocks zoomed in; never thinner than 0.75 px.
    """
    style = LINE_STYLE.get(feature_class)
    if style is None or zoom < style.min_zoom:
        return 0.0
    return max(0.75, min(style.width_px_z16 * 2 ** ((zoom - 16) * 0.75), 4 * style.width_px_z16))


def casing_width_px(feature_class: FeatureClass, zoom: int) -> float:
    """Casing width (0 when the class or zoom has none), output pixels."""
    style = LINE_STYLE.get(feature_class)
    if style is None or not style.casing or zoom < CASING_MIN_ZOOM:
        return 0.0
    width = line_width_px(feature_class, zoom)
    return width + CASING_EXTRA_PX if width else 0.0


def area_visible(feature_class: FeatureClass, zoom: int) -> bool:
    return zoom >= AREA_MIN_ZOOM.get(feature_class, 0)
