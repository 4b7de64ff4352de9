"""Photos as proof: a real image, within limits, stripped of everything but when and where
it was taken, plus a small copy for display. Pure: bytes in, bytes out (Pillow, no I/O).

What a phone's EXIF carries besides time and place (device make and serial, owner name,
software, thumbnails of the uncropped picture) is not ours to keep; the time and the GPS
position are what settle a dispute, so they stay.
"""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.ExifTags import GPS, IFD, Base

MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40 MP camera; larger is refused before decoding (bombs)
DISPLAY_SIDE = 800
_KEPT_BASE = (Base.DateTimeOriginal, Base.DateTime, Base.OffsetTimeOriginal)
_GPS_REF = {"N": 1, "S": -1, "E": 1, "W": -1}


class PhotoError(ValueError):
    """The upload is not an acceptable photo; the message says why."""


@dataclass(frozen=True, slots=True)
class Photo:
    stored: bytes  # JPEG, upright, EXIF reduced to time and GPS
    display: bytes  # JPEG, longest side DISPLAY_SIDE
    width: int
    height: int
    taken_at: datetime | None  # as the camera wrote it (local time, no zone)
    gps: tuple[float, float] | None  # (lat, lng)


def _degrees(value: object) -> float:
    d, m, s = (float(x) for x in value)  # type: ignore[attr-defined]
    return d + m / 60 + s / 3600


def _gps(exif: Image.Exif) -> tuple[float, float] | None:
    info = exif.get_ifd(IFD.GPSInfo)
    try:
        lat = _degrees(info[GPS.GPSLatitude]) * _GPS_REF[info[GPS.GPSLatitudeRef]]
        lng = _degrees(info[GPS.GPSLongitude]) * _GPS_REF[info[GPS.GPSLongitudeRef]]
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return round(lat, 7), round(lng, 7)


def _taken_at(exif: Image.Exif) -> datetime | None:
    text = exif.get_ifd(IFD.Exif).get(Base.DateTimeOriginal) or exif.get(Base.DateTime)
    try:
        return datetime.strptime(str(text), "%Y:%m:%d %H:%M:%S") if text else None
    except ValueError:
        return None


def _reduced_exif(exif: Image.Exif, orientation: bool = False) -> Image.Exif:
    kept = Image.Exif()
    sub = exif.get_ifd(IFD.Exif)
    for tag in _KEPT_BASE:
        if tag in sub:
            kept.get_ifd(IFD.Exif)[tag] = sub[tag]
        elif tag in exif:
            kept[tag] = exif[tag]
    gps = exif.get_ifd(IFD.GPSInfo)
    if gps:
        kept.get_ifd(IFD.GPSInfo).update(gps)
    if orientation and exif.get(Base.Orientation, 1) != 1:
        kept[Base.Orientation] = exif[Base.Orientation]  # the pixels are stored as shot
    return kept


_SOS, _APP0, _APP2, _APP14 = 0xDA, 0xE0, 0xE2, 0xEE


def _kept_segment(marker: int, segment: bytes) -> bool:
    """Tables and frame headers stay; of the metadata segments only JFIF, the colour
    profile and Adobe's colour transform (needed to decode) do. Exif, XMP, maker notes,
    Photoshop data and comments go."""
    if marker == 0xFE or 0xE0 <= marker <= 0xEF:
        return marker in (_APP0, _APP14) or (
            marker == _APP2 and segment[4:16] == b"ICC_PROFILE\x00"
        )
    return True


def _jpeg_with_exif(data: bytes, exif: Image.Exif) -> bytes | None:
    """``data``, a JPEG, with its metadata replaced by ``exif``: the compressed picture is
    kept byte for byte (no re-encoding, no quality lost, a fraction of the time). None when
    the file is not laid out the usual way; the caller then re-encodes."""
    payload = exif.tobytes()  # b"Exif\0\0" + TIFF
    if data[:2] != b"\xff\xd8" or len(payload) + 2 > 0xFFFF:
        return None
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    out, pos, inserted = [data[:2]], 2, False
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == _SOS:
            if not inserted:
                out.append(app1)
            out.append(data[pos:])
            return b"".join(out)
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:  # no stand-alone markers before SOS
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > len(data):
            return None
        segment = data[pos : pos + 2 + length]
        if not inserted and marker != _APP0:
            out.append(app1)
            inserted = True
        if _kept_segment(marker, segment):
            out.append(segment)
        pos += 2 + length
    return None


def _jpeg(image: Image.Image, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    rgb = image.convert("RGB")
    if exif is not None:
        rgb.save(out, "JPEG", quality=85, exif=exif)
    else:
        rgb.save(out, "JPEG", quality=80)
    return out.getvalue()


@contextmanager
def opened(data: bytes, max_bytes: int, max_pixels: int) -> Iterator[Image.Image]:
    """``data`` opened with Pillow, its size and pixel count checked before anything is
    decoded (decompression bombs); Pillow's errors inside the block become a
    :class:`PhotoError` naming the problem."""
    if len(data) > max_bytes:
        raise PhotoError(f"the image is {len(data)} bytes; at most {max_bytes} are accepted")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > max_pixels:
                raise PhotoError(
                    f"the image is {width}x{height} pixels; at most {max_pixels:,} are accepted"
                )
            yield probe
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise PhotoError(f"not a readable image ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(f"the image is damaged or truncated ({exc})") from exc


def validate_photo(
    data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> Photo:
    """The photo to store, or a :class:`PhotoError` naming the problem.

    A JPEG (what phones send) is checked by decoding it at reduced scale, which still reads
    every byte of it (a truncated file fails), and stored as sent with only its metadata
    rewritten; other formats are decoded in full and stored as JPEG."""
    with opened(data, max_bytes, max_pixels) as probe:
        if probe.format not in ("JPEG", "PNG", "WEBP", "HEIF", "MPO"):
            raise PhotoError(f"{probe.format} is not a photo format (JPEG, PNG or WebP)")
        width, height = probe.size
        exif = probe.getexif()
        jpeg = probe.format in ("JPEG", "MPO")
        if jpeg:
            # DCT scaling to about the display copy's size: a fraction of the work
            ratio = min(1.0, DISPLAY_SIDE / max(width, height))
            probe.draft("RGB", (max(1, int(width * ratio)), max(1, int(height * ratio))))
        probe.load()  # decodes everything: a truncated file fails here
        image = ImageOps.exif_transpose(probe)
    if exif.get(Base.Orientation, 1) in (5, 6, 7, 8):  # stored sideways: shown upright
        width, height = height, width
    stored = _jpeg_with_exif(data, _reduced_exif(exif, orientation=True)) if jpeg else None
    if stored is None:
        stored = _jpeg(_full(data), _reduced_exif(exif))
    display = image.copy()
    display.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))
    return Photo(
        stored=stored,
        display=_jpeg(display),
        width=width,
        height=height,
        taken_at=_taken_at(exif),
        gps=_gps(exif),
    )


def _full(data: bytes) -> Image.Image:
    """The whole picture, upright (for formats stored re-encoded)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return ImageOps.exif_transpose(image)


SIGNATURE_MAX_BYTES = 512 * 1024
SIGNATURE_MAX_PIXELS = 4_000_000


def signature_picture(data: bytes) -> bytes:
    """A signature exported by the pad as an image: checked like a photo (smaller limits)
    and kept as PNG, without any metadata."""
    with opened(data, SIGNATURE_MAX_BYTES, SIGNATURE_MAX_PIXELS) as probe:
        if probe.format not in ("PNG", "WEBP", "JPEG"):
            raise PhotoError(f"{probe.format} is not an image format we keep (PNG)")
        probe.load()
        out = io.BytesIO()
        probe.convert("LA").save(out, "PNG", optimize=True)
        return out.getvalue()
