"""Reading barcodes and QR codes from a photo of a label (pure: bytes in, codes out).

zbar (through pyzbar) reads the usual parcel symbologies (Code 128, EAN, QR, ...). When the
zbar library is not installed (it is a system package: Debian's ``libzbar0``), OpenCV's own
QR detector reads QR codes (its 1-D barcode detector, EAN/UPC only, found nothing on clean
test labels with OpenCV 5.0, so it is not used): install zbar for parcel barcodes.
Which decoder answered is part of the result.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from backend.pod.photos import MAX_BYTES, MAX_PIXELS, PhotoError, opened


class ScanImageError(ValueError):
    """The upload is not an image we can read; the message says why."""


@dataclass(frozen=True, slots=True)
class Code:
    symbology: str  # "CODE128", "EAN13", "QRCODE", ...
    text: str


@dataclass(frozen=True, slots=True)
class ScanResult:
    codes: list[Code]
    decoder: str  # "zbar" or "opencv"


def _zbar() -> Any | None:
    try:
        from pyzbar import pyzbar
    except (ImportError, OSError):  # pyzbar raises ImportError when libzbar is missing
        return None
    return pyzbar


def _grey(data: bytes) -> Image.Image:
    try:
        with opened(data, MAX_BYTES, MAX_PIXELS) as probe:
            probe.load()
            return ImageOps.exif_transpose(probe).convert("L")
    except PhotoError as exc:
        raise ScanImageError(str(exc)) from None


def _unique(codes: list[Code]) -> list[Code]:
    seen: set[tuple[str, str]] = set()
    out = []
    for code in codes:
        if (code.symbology, code.text) not in seen:
            seen.add((code.symbology, code.text))
            out.append(code)
    return out


def _with_zbar(pyzbar: Any, image: Image.Image) -> list[Code]:
    return [
        Code(str(r.type), r.data.decode("utf-8", errors="replace")) for r in pyzbar.decode(image)
    ]


def _with_opencv(image: Image.Image) -> list[Code]:
    import cv2

    pixels = np.asarray(image)
    codes: list[Code] = []
    found, texts, _, _ = cv2.QRCodeDetector().detectAndDecodeMulti(pixels)
    if found:
        codes += [Code("QRCODE", t) for t in texts if t]
    return codes


def decode_codes(data: bytes, *, use_zbar: bool = True) -> ScanResult:
    """Every code readable in the image, each once; ``use_zbar=False`` forces OpenCV."""
    image = _grey(data)
    pyzbar = _zbar() if use_zbar else None
    if pyzbar is not None:
        return ScanResult(_unique(_with_zbar(pyzbar, image)), "zbar")
    return ScanResult(_unique(_with_opencv(image)), "opencv")
