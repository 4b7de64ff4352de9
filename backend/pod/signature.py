"""Drawn signatures: the strokes a finger drew on the phone, checked and kept as SVG.

The driver app sends strokes as JSON, ``[[[x, y], [x, y], ...], ...]`` in the pad's own
pixels (origin top left). What is stored is an SVG of those strokes: small, exact, and
viewable in any browser. Pure: text in, bytes out.
"""

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_POINTS = 2_000  # a signature is a few hundred points; thousands is not a signature
MAX_STROKES = 50
MAX_COORDINATE = 10_000.0  # pad pixels


class SignatureError(ValueError):
    """The signature cannot be accepted; the message says why."""


@dataclass(frozen=True, slots=True)
class Signature:
    strokes: tuple[tuple[tuple[float, float], ...], ...]

    @property
    def points(self) -> int:
        return sum(len(s) for s in self.strokes)

    def svg(self) -> bytes:
        """The strokes as a standalone SVG, sized to what was drawn (plus a margin)."""
        xs = [x for s in self.strokes for x, _ in s]
        ys = [y for s in self.strokes for _, y in s]
        margin = 4.0
        left, top = min(xs) - margin, min(ys) - margin
        width, height = max(xs) - left + margin, max(ys) - top + margin
        paths = "".join(
            '<path d="M{}"/>'.format(" L".join(f"{_num(x)} {_num(y)}" for x, y in stroke))
            for stroke in self.strokes
        )
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="{_num(left)} {_num(top)} {_num(width)} {_num(height)}" '
            f'width="{_num(width)}" height="{_num(height)}">'
            '<g fill="none" stroke="#000" stroke-width="2" stroke-linecap="round" '
            f'stroke-linejoin="round">{paths}</g></svg>'
        ).encode()


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _point(raw: Any, where: str) -> tuple[float, float]:
    if not (isinstance(raw, list) and len(raw) == 2):
        raise SignatureError(f"{where}: a point is [x, y]")
    x, y = raw
    for v in (x, y):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise SignatureError(f"{where}: coordinates must be finite numbers")
        if not 0 <= v <= MAX_COORDINATE:
            raise SignatureError(f"{where}: coordinates must be within 0..{MAX_COORDINATE:g}")
    return float(x), float(y)


def parse_strokes(text: str | bytes) -> Signature:
    """The signature drawn, or a :class:`SignatureError` naming the problem."""
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureError(f"signature: not valid JSON ({exc})") from None
    if not isinstance(raw, list) or not raw:
        raise SignatureError("signature: expected a list of strokes, each a list of [x, y]")
    if len(raw) > MAX_STROKES:
        raise SignatureError(f"signature: {len(raw)} strokes; at most {MAX_STROKES}")
    total = sum(len(s) for s in raw if isinstance(s, list))
    if total > MAX_POINTS:
        raise SignatureError(f"signature: {total} points; at most {MAX_POINTS}")
    strokes = []
    for i, stroke in enumerate(raw):
        if not isinstance(stroke, list) or not stroke:
            raise SignatureError(f"signature stroke {i}: expected a non-empty list of [x, y]")
        strokes.append(
            tuple(_point(p, f"signature stroke {i} point {j}") for j, p in enumerate(stroke))
        )
    signature = Signature(tuple(strokes))
    if signature.points < 2 or _extent(signature) < 5.0:
        raise SignatureError("signature: nothing was drawn (a dot is not a signature)")
    return signature


def _extent(signature: Signature) -> float:
    xs = [x for s in signature.strokes for x, _ in s]
    ys = [y for s in signature.strokes for _, y in s]
    return max(max(xs) - min(xs), max(ys) - min(ys))
