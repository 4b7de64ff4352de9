"""The camera in a dialog: a live preview, a shutter, and Cancel; the picture goes to
``on_picture``. Without a camera the dialog says why (the other ways stay on the screen).

The dialog is built imperatively, outside the declarative tree: a camera is asked for its
devices and pictures through the one control instance on the page, which a re-rendering
component would replace under our feet.
"""

from collections.abc import Awaitable, Callable

import flet as ft
from flet_camera import Camera

from app_kit.hooks import tagged
from driver_app.services.camera import FletCamera
from driver_app.state.camera import NO_CAMERA, CameraCapture


async def open_camera(
    page: ft.Page,
    on_picture: Callable[[bytes], Awaitable[None]],
    *,
    title: str,
    shutter_label: str = "Take picture",
) -> None:
    """Show the camera until a picture is taken (then ``on_picture``) or Cancel."""
    capture = CameraCapture()
    preview = Camera(width=320, height=240, preview_enabled=True)
    status = ft.Text("Starting the camera\N{HORIZONTAL ELLIPSIS}", italic=True)

    async def shoot() -> None:
        picture = await capture.take()
        if picture is None:
            status.value = capture.error or "No picture: try again."
            dialog.update()
            return
        close()
        await on_picture(picture)

    def close() -> None:
        capture.close()
        page.pop_dialog()

    shutter = ft.FilledButton(
        shutter_label, icon=ft.Icons.CAMERA_ALT, disabled=True, on_click=shoot
    )
    dialog = ft.AlertDialog(
        modal=True,
        title=ft.Text(title),
        content=tagged(
            "camera",
            ft.Column(
                [ft.Container(preview, width=320, height=240, bgcolor=ft.Colors.BLACK), status],
                tight=True,
                spacing=8,
            ),
        ),
        actions=[
            tagged("camera-cancel", ft.TextButton("Cancel", on_click=close)),
            tagged("camera-shutter", shutter),
        ],
    )
    page.show_dialog(dialog)
    await capture.open(FletCamera(preview))
    if capture.ready:
        status.value, shutter.disabled = (
            "Aim at the label or the parcel, then tap the button.",
            False,
        )
    else:
        status.value = capture.error or NO_CAMERA
    dialog.update()
