"""The phone's camera through flet-camera (a :class:`CameraDevice`): a live preview the
driver aims at a label or a doorstep, and a still picture as JPEG bytes.

Thin on purpose: what to do without a camera, or when it fails, is decided in
:mod:`driver_app.state.camera` and tested there with a fake device. The control must be on
the page (it is the preview) before it is asked for anything.
"""

import asyncio

from flet_camera import Camera, CameraDescription, CameraLensDirection, ResolutionPreset

MOUNT_TRIES, MOUNT_WAIT_S = 30, 0.1


class FletCamera:
    def __init__(self, control: Camera) -> None:
        self.control = control

    async def _cameras(self) -> list[CameraDescription]:
        """The devices, once the preview has reached the page (an effect runs right after
        the render that adds it, which can be before the client has it)."""
        for _ in range(MOUNT_TRIES - 1):
            try:
                cameras: list[CameraDescription] = await self.control.get_available_cameras()
                return cameras
            except RuntimeError as exc:
                if "added to the page" not in str(exc):
                    raise
                await asyncio.sleep(MOUNT_WAIT_S)
        last: list[CameraDescription] = await self.control.get_available_cameras()
        return last

    async def open(self) -> bool:
        """Start the preview on the back camera (else the first one); False: no camera."""
        cameras = await self._cameras()
        if not cameras:
            return False
        back = [c for c in cameras if c.lens_direction is CameraLensDirection.BACK]
        await self.control.initialize(
            (back or cameras)[0], ResolutionPreset.HIGH, enable_audio=False
        )
        return True

    async def take(self) -> bytes:
        return bytes(await self.control.take_picture())
