"""Taking a picture with the camera: of a parcel's label (read on the server) or of the
delivery (the photo proof). Where there is no camera, or the driver refused it, ``error``
says so and the other ways (a photo from the gallery, typing the code) remain."""

import asyncio
import logging
from typing import Protocol

from app_kit.observable import Observable

log = logging.getLogger(__name__)

NO_CAMERA = "No camera here: pick a photo instead, or type the code."
OPEN_TIMEOUT_S = 15.0  # a permission prompt nobody answers: give up, offer the other ways


class CameraDevice(Protocol):
    async def open(self) -> bool:
        """Start the preview; False when the device has no camera."""
        ...

    async def take(self) -> bytes:
        """A still picture (JPEG)."""
        ...


class CameraCapture(Observable):
    """``ready`` once the preview runs; ``busy`` while a picture is taken; ``error`` when
    the camera cannot be used (then it stays closed)."""

    def __init__(self) -> None:
        super().__init__()
        self._device: CameraDevice | None = None
        self.ready = False
        self.busy = False
        self.error: str | None = None

    async def open(self, device: CameraDevice) -> None:
        """Start ``device``'s preview (once the view has put it on the page)."""
        self._device, self.ready, self.error = device, False, None
        self.notify()
        try:
            found = await asyncio.wait_for(device.open(), OPEN_TIMEOUT_S)
        except Exception as exc:  # refused, busy, or no camera API on this platform
            log.warning("camera unavailable: %r", exc)
            found = False
        if self._device is not device:
            return  # closed meanwhile
        self.ready = found
        self.error = None if found else NO_CAMERA
        self.notify()

    def close(self) -> None:
        self._device, self.ready, self.busy = None, False, False
        self.notify()

    async def take(self) -> bytes | None:
        """A picture, or None (``error`` says why) when none could be taken."""
        device = self._device
        if device is None or not self.ready or self.busy:
            return None
        self.busy, self.error = True, None
        self.notify()
        try:
            picture = await device.take()
        except Exception as exc:
            log.warning("taking a picture failed", exc_info=True)
            picture, self.error = None, f"The camera did not take the picture: {exc}"
        self.busy = False
        if picture is not None and not picture:
            picture, self.error = None, "The camera gave an empty picture; try again."
        self.notify()
        return picture
