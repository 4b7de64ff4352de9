"""Reading label photos: zbar for every symbology, OpenCV's QR reader without zbar."""

import ctypes.util

import pytest

from backend.pod.scanning import Code, ScanImageError, decode_codes
from tests.backend.pod.labels import code128, label, qr
from tests.conftest import require


def require_zbar() -> None:
    require(
        ctypes.util.find_library("zbar") is not None,
        "libzbar0 (Debian) is not installed; scripts/test installs it (as root)",
    )


def test_zbar_reads_a_parcel_barcode_and_a_qr_code_on_one_label() -> None:
    require_zbar()
    result = decode_codes(label(code128("BC-12345"), qr("https://t.example/abc")))
    assert result.decoder == "zbar"
    assert sorted(result.codes, key=lambda c: c.text) == [
        Code("CODE128", "BC-12345"),
        Code("QRCODE", "https://t.example/abc"),
    ]


def test_without_zbar_opencv_still_reads_qr_codes() -> None:
    result = decode_codes(label(qr("BC-777"), code128("BC-888")), use_zbar=False)
    assert result.decoder == "opencv"
    assert result.codes == [Code("QRCODE", "BC-777")]


def test_a_blank_photo_reads_nothing_and_junk_is_refused() -> None:
    require_zbar()
    assert decode_codes(label(qr("x").point(lambda _: 255))).codes == []
    with pytest.raises(ScanImageError, match="not a readable image"):
        decode_codes(b"%PDF-1.7")
