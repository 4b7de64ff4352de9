"""Photo proofs: real images only, within limits, EXIF reduced to time and GPS."""

import io
from datetime import datetime
from fractions import Fraction

import pytest
from PIL import Image
from PIL.ExifTags import GPS, IFD, Base

from backend.pod.photos import DISPLAY_SIDE, PhotoError, validate_photo


def dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    d = int(value)
    m = int((value - d) * 60)
    s = (value - d - m / 60) * 3600
    return Fraction(d), Fraction(m), Fraction(s).limit_denominator(10_000)


def camera_jpeg(size: tuple[int, int] = (1600, 1200), gps: bool = True) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[Base.Make] = "PhoneMaker"
    exif[Base.Model] = "Model X"
    exif[Base.Software] = "Camera 1.2"
    exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = "2026:11:21 10:15:30"
    exif.get_ifd(IFD.Exif)[Base.BodySerialNumber] = "SN-123456"
    if gps:
        gps_ifd = exif.get_ifd(IFD.GPSInfo)
        gps_ifd[GPS.GPSLatitudeRef] = "N"
        gps_ifd[GPS.GPSLatitude] = dms(43.7384)
        gps_ifd[GPS.GPSLongitudeRef] = "E"
        gps_ifd[GPS.GPSLongitude] = dms(7.4246)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_camera_photo_keeps_only_when_and_where() -> None:
    photo = validate_photo(camera_jpeg())
    assert (photo.width, photo.height) == (1600, 1200)
    assert photo.taken_at == datetime(2026, 11, 21, 10, 15, 30)
    assert photo.gps is not None
    assert photo.gps == pytest.approx((43.7384, 7.4246), abs=1e-5)
    with Image.open(io.BytesIO(photo.stored)) as stored:
        exif = stored.getexif()
        assert not {Base.Make, Base.Model, Base.Software} & set(exif)
        assert Base.BodySerialNumber not in exif.get_ifd(IFD.Exif)
        assert exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] == "2026:11:21 10:15:30"
        assert exif.get_ifd(IFD.GPSInfo)[GPS.GPSLatitudeRef] == "N"
    with Image.open(io.BytesIO(photo.display)) as display:
        assert max(display.size) == DISPLAY_SIDE
        assert display.getexif() == {}


def test_a_photo_without_gps_is_still_a_photo() -> None:
    photo = validate_photo(camera_jpeg(gps=False))
    assert photo.gps is None


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"%PDF-1.4 not an image at all", "not a readable image"),
        (camera_jpeg()[:5000], "damaged or truncated"),
    ],
    ids=["not an image", "truncated"],
)
def test_what_is_not_a_photo_is_refused_with_the_reason(data: bytes, words: str) -> None:
    with pytest.raises(PhotoError, match=words):
        validate_photo(data)


def test_limits_on_bytes_pixels_and_format() -> None:
    with pytest.raises(PhotoError, match="bytes"):
        validate_photo(camera_jpeg(), max_bytes=1000)
    with pytest.raises(PhotoError, match="pixels"):
        validate_photo(camera_jpeg(), max_pixels=1_000_000)  # 1.92 MP
    gif = io.BytesIO()
    Image.new("P", (10, 10)).save(gif, "GIF")
    with pytest.raises(PhotoError, match="GIF is not a photo format"):
        validate_photo(gif.getvalue())


def with_segments(jpeg: bytes, *segments: tuple[int, bytes]) -> bytes:
    """``jpeg`` with extra marker segments right after its start marker."""
    extra = b"".join(
        bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body
        for marker, body in segments
    )
    return jpeg[:2] + extra + jpeg[2:]


def test_a_jpeg_is_stored_as_shot_with_only_its_metadata_rewritten() -> None:
    original = with_segments(
        camera_jpeg(),
        (0xFE, b"owner: Jane Private"),  # a comment
        (0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>Jane's phone</x:xmpmeta>"),
    )
    photo = validate_photo(original)
    assert b"Jane" not in photo.stored
    assert b"PhoneMaker" not in photo.stored
    with Image.open(io.BytesIO(photo.stored)) as stored, Image.open(io.BytesIO(original)) as shot:
        assert stored.tobytes() == shot.tobytes()  # the same picture, not re-encoded
        assert stored.getexif().get_ifd(IFD.Exif)[Base.DateTimeOriginal] == "2026:11:21 10:15:30"


def test_a_sideways_photo_is_measured_and_shown_upright_and_stored_as_shot() -> None:
    image = Image.new("RGB", (1200, 900), (10, 200, 30))
    exif = Image.Exif()
    exif[Base.Orientation] = 6  # the camera was held upright: rotate 90° to show it
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    photo = validate_photo(out.getvalue())
    assert (photo.width, photo.height) == (900, 1200)
    with Image.open(io.BytesIO(photo.display)) as display:
        assert display.size == (600, DISPLAY_SIDE)
    with Image.open(io.BytesIO(photo.stored)) as stored:
        assert stored.size == (1200, 900)
        assert stored.getexif()[Base.Orientation] == 6


def test_a_png_is_accepted_and_stored_as_jpeg() -> None:
    out = io.BytesIO()
    Image.new("RGB", (1000, 500), (1, 2, 3)).save(out, "PNG")
    photo = validate_photo(out.getvalue())
    assert photo.stored[:2] == b"\xff\xd8"
    assert (photo.width, photo.height) == (1000, 500)
