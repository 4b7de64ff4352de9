"""What Chromium's fake camera films: a parcel label, as a Y4M video it loops.

``--use-file-for-fake-video-capture`` takes a raw YUV 4:2:0 video; a few identical frames
of a Code 128 label on white are enough for the app to take a picture of it.
"""

import io
from pathlib import Path

import barcode
import numpy as np
from barcode.writer import ImageWriter
from PIL import Image

WIDTH, HEIGHT = 640, 480


def label_video(path: Path, code: str, frames: int = 5) -> Path:
    """Write a Y4M video of a label carrying ``code``; returns ``path``."""
    picture = io.BytesIO()
    barcode.get("code128", code, writer=ImageWriter()).write(
        picture, {"module_height": 20, "quiet_zone": 4}
    )
    label = Image.open(picture).convert("L")
    label.thumbnail((WIDTH - 40, HEIGHT - 80))
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    frame.paste(label, ((WIDTH - label.width) // 2, (HEIGHT - label.height) // 2))
    ycc = np.asarray(frame.convert("RGB").convert("YCbCr"))
    planes = ycc[:, :, 0].tobytes() + ycc[::2, ::2, 1].tobytes() + ycc[::2, ::2, 2].tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)
    return path
