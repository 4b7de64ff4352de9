"""The pad a recipient signs on with a finger (or the mouse), drawn as it goes: pan events
in the pad's own pixels go to the flow, which keeps the strokes."""

import flet as ft
import flet.canvas as cv

from app_kit.hooks import tagged, use_observable
from driver_app.state.stop_flow import StopFlow

PAD_WIDTH, PAD_HEIGHT = 320, 160  # logical pixels
_INK = ft.Paint(
    color=ft.Colors.BLACK,
    stroke_width=3,
    style=ft.PaintingStyle.STROKE,
    stroke_cap=ft.StrokeCap.ROUND,
    stroke_join=ft.StrokeJoin.ROUND,
)


@ft.component
def signature_pad(flow: StopFlow) -> ft.Control:
    """A pad the recipient signs with a finger (or the mouse); drawn as it goes."""
    use_observable(flow.pad)
    shapes: list[cv.Shape] = []
    for stroke in flow.strokes:
        (x0, y0), rest = stroke[0], stroke[1:] or [stroke[0]]
        elements: list[cv.Path.PathElement] = [cv.Path.MoveTo(x0, y0)]
        elements += [cv.Path.LineTo(x, y) for x, y in rest]
        shapes.append(cv.Path(elements, paint=_INK))
    return tagged(
        "signature-pad",
        ft.Container(
            width=PAD_WIDTH,
            height=PAD_HEIGHT,
            bgcolor=ft.Colors.WHITE,
            border=ft.Border.all(1, ft.Colors.OUTLINE),
            border_radius=8,
            content=ft.GestureDetector(
                drag_interval=16,
                on_pan_start=lambda e: flow.start_stroke(e.local_position.x, e.local_position.y),
                on_pan_update=lambda e: flow.extend(e.local_position.x, e.local_position.y),
                content=cv.Canvas(shapes=shapes, width=PAD_WIDTH, height=PAD_HEIGHT),
            ),
        ),
    )
