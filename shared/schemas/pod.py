"""Proofs of delivery, failure reports and parcel scans: what the server answers the app."""

from shared.enums import OrderStatus
from shared.schemas.common import OutModel


class ProofOut(OutModel):
    """``POST /orders/{id}/pod``: the order is delivered; ``replayed`` when the proof with
    this ``client_id`` was already recorded (the first answer, again)."""

    order_id: int
    client_id: str
    status: OrderStatus
    digest: str
    files: list[str]
    flagged: bool
    distance_m: float | None
    replayed: bool


class FailureOut(OutModel):
    """``POST /orders/{id}/failure``: the order's status after the follow-up, and which
    customer notice it calls for."""

    order_id: int
    status: OrderStatus
    reason: str
    follow_up: str
    notice: str
    replayed: bool


class ScannedCode(OutModel):
    text: str
    symbology: str | None


class ScanOut(OutModel):
    """``POST /orders/{id}/scans``: the codes matched against the order's parcels."""

    order_id: int
    decoder: str
    codes: list[ScannedCode]
    parcels_left: list[str]
