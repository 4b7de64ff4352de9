"""What a simulated driver hands in at the door: the proofs the order requires, as the
driver app gathers them (a photo from the camera, a signature drawn on the pad, the parcels
scanned, the ID checked). The pictures are real images, made with Pillow.
"""

import io
import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from shared.enums import ProofType
from shared.schemas.orders import OrderOut

_PHOTO_SIZE = (320, 240)  # pixels: a small doorstep photo
_PAD_SIZE = (360, 140)  # pixels: the app's signature pad


@dataclass(frozen=True, slots=True)
class Handover:
    """The proof of one delivery, ready for ``ApiClient.record_pod``."""

    photos: list[bytes]
    signature_png: bytes | None
    recipient_name: str | None
    barcodes: list[str]
    age_checked: bool


def door_photo(order_id: int) -> bytes:
    """A JPEG of a parcel at a door (a box in front of a door; colours vary by order)."""
    hue = (order_id * 47) % 200
    image = Image.new("RGB", _PHOTO_SIZE, (180 - hue // 4, 170, 150 + hue // 4))
    draw = ImageDraw.Draw(image)
    draw.rectangle((110, 20, 210, 235), fill=(120, 70, 40))  # the door
    draw.ellipse((190, 120, 200, 130), fill=(220, 200, 80))  # its handle
    draw.rectangle((130, 170, 200, 235), fill=(200, 160, 100), outline=(90, 60, 30), width=3)
    draw.line((130, 200, 200, 200), fill=(230, 220, 200), width=4)  # the tape
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def signature_png(order_id: int) -> bytes:
    """A PNG of a signature: one flowing stroke across the pad, as the pad exports it."""
    width, height = _PAD_SIZE
    image = Image.new("L", _PAD_SIZE, 255)
    loops = 3 + order_id % 3
    points = [
        (
            20 + (width - 40) * k / 200,
            height / 2
            + 35 * math.sin(k / 200 * loops * 2 * math.pi)
            + 10 * math.cos(k / 13.0 + order_id),
        )
        for k in range(201)
    ]
    ImageDraw.Draw(image).line(points, fill=0, width=3, joint="curve")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def handover(order: OrderOut) -> Handover | str:
    """The proof for ``order`` (each required one, and always a photo, as drivers are told
    to take one), or why the driver cannot deliver (a PIN only the customer knows)."""
    required = set(order.required_proofs)
    if ProofType.PIN in required:
        return "the customer could not give the delivery PIN"
    if ProofType.BARCODE in required and not order.barcodes:
        return "the order needs a parcel scan but lists no parcels"
    signed = ProofType.SIGNATURE in required
    return Handover(
        photos=[door_photo(order.id)],
        signature_png=signature_png(order.id) if signed else None,
        recipient_name=order.recipient_name if signed else None,
        barcodes=list(order.barcodes),
        age_checked=ProofType.AGE_CHECK in required,
    )
