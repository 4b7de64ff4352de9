"""Label images for the scanning tests: Code 128 (python-barcode) and QR (OpenCV's encoder)."""

import io

import barcode
import cv2
from barcode.writer import ImageWriter
from PIL import Image


def code128(text: str) -> Image.Image:
    out = io.BytesIO()
    barcode.get("code128", text, writer=ImageWriter()).write(out, options={"write_text": False})
    return Image.open(io.BytesIO(out.getvalue())).convert("L")


def qr(text: str) -> Image.Image:
    pixels = cv2.QRCodeEncoder.create().encode(text)
    pixels = cv2.resize(pixels, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
    return Image.fromarray(pixels).convert("L")


def label(*codes: Image.Image) -> bytes:
    """A JPEG photo of a label holding ``codes`` one under the other, on white."""
    width = max(c.width for c in codes) + 80
    height = sum(c.height for c in codes) + 60 * (len(codes) + 1)
    sheet = Image.new("L", (width, height), 255)
    y = 60
    for code in codes:
        sheet.paste(code, (40, y))
        y += code.height + 60
    out = io.BytesIO()
    sheet.save(out, "JPEG", quality=90)
    return out.getvalue()
