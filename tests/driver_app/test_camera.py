"""Taking pictures: the camera is a boundary (a fake device here); the browser tests use
Chromium's fake camera fed with a picture of a label."""

import asyncio

from driver_app.state.camera import NO_CAMERA, CameraCapture

JPEG = b"\xff\xd8\xff\xe0 a picture"


class Device:
    def __init__(self, *, has_camera: bool = True, fails: Exception | None = None) -> None:
        self.has_camera, self.fails = has_camera, fails
        self.pictures = 0

    async def open(self) -> bool:
        if self.fails is not None:
            raise self.fails
        return self.has_camera

    async def take(self) -> bytes:
        self.pictures += 1
        return JPEG


async def test_a_picture_is_taken_once_the_preview_runs() -> None:
    capture, device = CameraCapture(), Device()
    assert await capture.take() is None  # not open yet: no picture, no crash
    await capture.open(device)
    assert capture.ready
    assert await capture.take() == JPEG
    assert device.pictures == 1


async def test_no_camera_or_a_refusal_says_what_to_do_instead() -> None:
    for device in (Device(has_camera=False), Device(fails=PermissionError("NotAllowedError"))):
        capture = CameraCapture()
        await capture.open(device)
        assert not capture.ready
        assert capture.error == NO_CAMERA
        assert await capture.take() is None
        assert device.pictures == 0


async def test_closing_while_it_opens_leaves_it_closed() -> None:
    gate = asyncio.Event()

    class Slow(Device):
        async def open(self) -> bool:
            await gate.wait()
            return True

    capture = CameraCapture()
    opening = asyncio.create_task(capture.open(Slow()))
    await asyncio.sleep(0)
    capture.close()  # the driver left the screen
    gate.set()
    await opening
    assert not capture.ready
