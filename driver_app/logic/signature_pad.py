"""A drawn signature as the server takes it (pure; mirrors ``backend.pod.signature``).

The pad records strokes in its own pixels (origin top left, x right, y down). What goes to
the server is JSON ``[[[x, y], ...], ...]``: coordinates rounded to 0.1 px and kept within
0..10 000, empty strokes dropped, at most 50 strokes and 2 000 points (thinned evenly when a
long signature has more), and nothing at all when what was drawn is a dot.
"""

import json
import math
from collections.abc import Sequence

# The server's limits (backend/pod/signature.py).
MAX_POINTS = 2_000
MAX_STROKES = 50
MAX_COORDINATE = 10_000.0  # pad pixels
MIN_EXTENT = 5.0  # pad pixels: less than this across is a dot, not a signature
# A finger reports many points per pixel; closer than this to the last one adds nothing.
MIN_STEP = 1.5  # pad pixels

Point = tuple[float, float]
Stroke = Sequence[Point]


def clamp_point(x: float, y: float) -> Point | None:
    """The point rounded to 0.1 px and within the pad's range, None when not a number."""
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    return (
        round(min(max(x, 0.0), MAX_COORDINATE), 1),
        round(min(max(y, 0.0), MAX_COORDINATE), 1),
    )


def worth_adding(stroke: Stroke, point: Point) -> bool:
    """Whether ``point`` moves far enough from the stroke's last point to be kept."""
    if not stroke:
        return True
    last_x, last_y = stroke[-1]
    return math.hypot(point[0] - last_x, point[1] - last_y) >= MIN_STEP


def _thinned(stroke: list[Point], keep: int) -> list[Point]:
    """``keep`` points of ``stroke`` spread evenly, its first and last among them."""
    if len(stroke) <= keep:
        return stroke
    if keep == 1:
        return [stroke[0]]
    last = len(stroke) - 1
    return [stroke[round(i * last / (keep - 1))] for i in range(keep)]


def _within_limits(strokes: list[list[Point]]) -> list[list[Point]]:
    strokes = strokes[:MAX_STROKES]
    total = sum(len(s) for s in strokes)
    if total <= MAX_POINTS:
        return strokes
    # Every stroke keeps at least one point; the rest is shared in proportion to length.
    spare = MAX_POINTS - len(strokes)
    extra = [(len(s) - 1) * spare // (total - len(strokes)) for s in strokes]
    return [_thinned(s, 1 + e) for s, e in zip(strokes, extra, strict=True)]


def clean_strokes(strokes: Sequence[Stroke]) -> list[list[Point]]:
    """The strokes as they will be sent: clamped, rounded, no empty stroke, within limits."""
    cleaned = []
    for stroke in strokes:
        points = [p for p in (clamp_point(x, y) for x, y in stroke) if p is not None]
        if points:
            cleaned.append(points)
    return _within_limits(cleaned)


def is_drawn(strokes: Sequence[Stroke]) -> bool:
    """Whether the strokes make a signature the server accepts (not a dot, not empty)."""
    points = [p for s in clean_strokes(strokes) for p in s]
    if len(points) < 2:
        return False
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return max(max(xs) - min(xs), max(ys) - min(ys)) >= MIN_EXTENT


def strokes_json(strokes: Sequence[Stroke]) -> str | None:
    """The JSON the server's ``signature`` field takes, or None when nothing was drawn."""
    if not is_drawn(strokes):
        return None
    cleaned = clean_strokes(strokes)
    return json.dumps([[[x, y] for x, y in s] for s in cleaned], separators=(",", ":"))
