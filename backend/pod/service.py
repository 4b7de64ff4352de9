"""Recording a proof of delivery and checking it later.

The proof's files are stored first (atomic writes), then the order moves to ``delivered``
in one transaction whose event carries the proof: its metadata, where each file is, and the
seal (SHA-256 of every stored file and of the metadata). If the transaction fails, the files
are deleted again: nothing of a refused proof stays. ``client_id`` makes it idempotent: the
phone's offline queue may send the same proof twice and gets the first answer again.
"""

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.errors import AppError, ConflictError, ForbiddenError, NotFoundError
from backend.models import Barcode, Order, OrderEvent, Stop
from backend.orders import transitions
from backend.pod.evidence import Seal, seal, verify
from backend.pod.photos import (
    MAX_BYTES,
    Photo,
    PhotoError,
    signature_picture,
    validate_photo,
)
from backend.pod.rules import DEFAULT_RADIUS_M, missing_message, missing_proofs, place_check
from backend.pod.signature import SignatureError, parse_strokes
from backend.pod.storage import ProofStore
from shared.enums import EventKind, OrderStatus, ProofType, StopKind
from shared.geo import Point
from shared.lifecycle import IllegalTransitionError, check_transition
from shared.schemas.orders import TransitionRequest

MAX_PHOTOS = 5


class InvalidProofError(AppError):
    status_code = 422
    code = "invalid_proof"


async def check_codes(session: AsyncSession, order: Order, codes: list[str]) -> list[str]:
    """``codes`` (scanned) if every one is a parcel of ``order``; else a 422 naming each
    stranger and, when it is another order's parcel, which order it belongs to."""
    known = {
        b.code: b.order_id
        for b in (
            await session.exec(
                select(Barcode).where(Barcode.org_id == order.org_id, col(Barcode.code).in_(codes))
            )
        ).all()
    }
    wrong = []
    for code in dict.fromkeys(codes):
        owner = known.get(code)
        if owner is None:
            wrong.append(f"{code} is not a parcel of this organisation")
        elif owner != order.id:
            wrong.append(f"{code} belongs to order {owner}, not to order {order.id}")
    if wrong:
        raise InvalidProofError(
            "wrong parcel: " + "; ".join(wrong), code="wrong_parcel", details={"codes": wrong}
        )
    return list(dict.fromkeys(codes))


async def parcels_of(session: AsyncSession, order_id: int) -> set[str]:
    rows = await session.exec(select(Barcode.code).where(Barcode.order_id == order_id))
    return set(rows.all())


@dataclass(slots=True)
class ProofInput:
    """What the driver app sent (files as bytes, the rest as given)."""

    client_id: str
    recipient_name: str | None = None
    signature: str | None = None  # strokes as JSON
    signature_png: bytes | None = None  # or as a picture the pad exported
    photos: list[bytes] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)  # parcels scanned at the door
    pin: str | None = None  # the delivery PIN the customer told the driver
    age_checked: bool = False
    notes: str = ""
    lat: float | None = None  # the phone's fix when the proof was taken
    lng: float | None = None


def validate_photos(raw: list[bytes], max_bytes: int = MAX_BYTES) -> list[Photo]:
    if len(raw) > MAX_PHOTOS:
        raise InvalidProofError(f"photos: {len(raw)} sent; at most {MAX_PHOTOS}")
    photos = []
    for i, data in enumerate(raw):
        try:
            photos.append(validate_photo(data, max_bytes=max_bytes))
        except PhotoError as exc:
            raise InvalidProofError(f"photos.{i}: {exc}") from None
    return photos


async def _delivery_event(session: AsyncSession, order_id: int) -> OrderEvent | None:
    rows = await session.exec(
        select(OrderEvent)
        .where(
            OrderEvent.order_id == order_id,
            OrderEvent.kind == EventKind.STATUS_CHANGED,
            OrderEvent.to_status == OrderStatus.DELIVERED,
        )
        .order_by(col(OrderEvent.id).desc())
    )
    return rows.first()


async def _dropoff(session: AsyncSession, order_id: int) -> Point | None:
    stop = (
        await session.exec(
            select(Stop).where(Stop.order_id == order_id, Stop.kind == StopKind.DROPOFF)
        )
    ).first()
    return Point(stop.lat, stop.lng) if stop is not None else None


def proof_out(order_id: int, pod: dict[str, Any], replayed: bool) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "client_id": pod["client_id"],
        "status": OrderStatus.DELIVERED.value,
        "digest": pod["seal"]["digest"],
        "files": sorted(pod["files"]),
        "flagged": pod["metadata"]["place"]["flagged"],
        "distance_m": pod["metadata"]["place"]["distance_m"],
        "replayed": replayed,
    }


async def record_proof(
    session: AsyncSession,
    store: ProofStore,
    principal: Principal,
    order: Order,
    proof: ProofInput,
    radius_m: float = DEFAULT_RADIUS_M,
    max_upload: int = MAX_BYTES,
) -> dict[str, Any]:
    """Deliver ``order`` with ``proof``; the answer for the driver app."""
    assert order.id is not None
    earlier = await _delivery_event(session, order.id)
    pod = (earlier.details.get("pod") or {}) if earlier is not None else {}
    if earlier is not None and pod.get("client_id") == proof.client_id:
        return proof_out(order.id, pod, replayed=True)  # even if the order moved on since
    if principal.driver_id is None or order.driver_id != principal.driver_id:
        raise ForbiddenError("only the driver delivering this order records its proof")
    if earlier is not None:
        raise ConflictError(
            f"order {order.id} was already delivered (another proof, recorded at "
            f"{earlier.at.isoformat()}); nothing was stored",
            code="already_delivered",
        )

    # Before any file is written: an order that cannot be delivered now gets the 409 the
    # transition would give (the pickup question does not arise on the way to delivered).
    try:
        check_transition(OrderStatus(order.status), OrderStatus.DELIVERED, has_pickup=False)
    except IllegalTransitionError as exc:
        raise ConflictError(
            str(exc),
            code="illegal_transition",
            details={"current": order.status, "requested": OrderStatus.DELIVERED},
        ) from exc

    photos = validate_photos(proof.photos, max_bytes=max(MAX_BYTES, max_upload))
    signature = None
    if proof.signature is not None:
        try:
            signature = parse_strokes(proof.signature)
        except SignatureError as exc:
            raise InvalidProofError(str(exc)) from None
    signature_png = None
    if proof.signature_png is not None:
        try:
            signature_png = signature_picture(proof.signature_png)
        except PhotoError as exc:
            raise InvalidProofError(f"signature_png: {exc}") from None
    signed = signature is not None or signature_png is not None
    if signed and not (proof.recipient_name or "").strip():
        raise InvalidProofError("recipient_name: the signer's name goes with a signature")
    provided = [ProofType.PHOTO] * bool(photos) + [ProofType.SIGNATURE] * signed
    scanned = await check_codes(session, order, proof.barcodes) if proof.barcodes else []
    parcels = await parcels_of(session, order.id)
    if scanned and parcels <= set(scanned):  # every parcel of the order scanned
        provided.append(ProofType.BARCODE)
    if proof.pin is not None:
        expected = order.delivery_pin or ""
        if not expected or not secrets.compare_digest(proof.pin.strip(), expected):
            raise InvalidProofError("pin: not the PIN of this delivery; ask the customer again")
        provided.append(ProofType.PIN)
    if proof.age_checked:
        provided.append(ProofType.AGE_CHECK)
    missing = missing_proofs(order.required_proofs, provided)
    if missing:
        raise InvalidProofError(
            missing_message(missing), details={"missing": [m.value for m in missing]}
        )

    address = await _dropoff(session, order.id)
    photo_gps = next((Point(*p.gps) for p in photos if p.gps is not None), None)
    app_fix = (
        Point(proof.lat, proof.lng) if proof.lat is not None and proof.lng is not None else None
    )
    place = place_check(address, photo_gps, app_fix, radius_m) if address else None

    files: dict[str, bytes] = {}
    for i, photo in enumerate(photos, start=1):
        files[f"photo-{i}.jpg"] = photo.stored
        files[f"photo-{i}-display.jpg"] = photo.display
    if signature is not None:
        files["signature.svg"] = signature.svg()
    if signature_png is not None:
        files["signature.png"] = signature_png
    metadata: dict[str, Any] = {
        "order_id": order.id,
        "client_id": proof.client_id,
        "driver_id": principal.driver_id,
        "recipient_name": (proof.recipient_name or "").strip() or None,
        "age_checked": proof.age_checked,
        "pin_confirmed": proof.pin is not None,
        "barcodes": scanned,
        "notes": proof.notes,
        "app_fix": [proof.lat, proof.lng] if app_fix else None,
        "photos": [
            {
                "width": p.width,
                "height": p.height,
                "taken_at": p.taken_at.isoformat() if p.taken_at else None,
                "gps": list(p.gps) if p.gps else None,
            }
            for p in photos
        ],
        "signature_points": signature.points if signature else 0,
        "place": {
            "distance_m": round(place.distance_m, 1)
            if place and place.distance_m is not None
            else None,
            "radius_m": radius_m,
            "source": place.source if place else "none",
            "flagged": place.flagged if place else True,
        },
    }
    prefix = f"orders/{order.org_id}/{order.id}/{proof.client_id}"
    keys, sealed = await store_sealed(store, prefix, files, metadata)
    pod = {
        "client_id": proof.client_id,
        "metadata": metadata,
        "files": keys,
        "seal": sealed.as_dict(),
    }
    request = TransitionRequest(to=OrderStatus.DELIVERED, lat=proof.lat, lng=proof.lng)
    try:
        await transitions.transition(session, principal, order, request, details={"pod": pod})
        await session.flush()
    except BaseException:
        await delete_files(store, keys)
        raise
    return proof_out(order.id, pod, replayed=False)


async def store_sealed(
    store: ProofStore, prefix: str, files: dict[str, bytes], metadata: dict[str, Any]
) -> tuple[dict[str, str], Seal]:
    """Write ``files`` under ``prefix`` (all or none) and seal them with ``metadata``."""
    sealed = seal(files, metadata)
    keys = {name: f"{prefix}/{name}" for name in files}
    await asyncio.to_thread(_put_all, store, {keys[n]: data for n, data in files.items()})
    return keys, sealed


async def delete_files(store: ProofStore, keys: dict[str, str]) -> None:
    await asyncio.to_thread(_delete_all, store, list(keys.values()))


def _put_all(store: ProofStore, files: dict[str, bytes]) -> None:
    done = []
    try:
        for key, data in files.items():
            store.put(key, data)
            done.append(key)
    except BaseException:
        _delete_all(store, done)
        raise


def _delete_all(store: ProofStore, keys: list[str]) -> None:
    for key in keys:
        store.delete(key)


async def verify_proof(session: AsyncSession, store: ProofStore, order_id: int) -> dict[str, Any]:
    """Recompute the seal of the order's proof from the stored bytes and metadata (a proof
    of delivery, or the sealed report of a parcel left at a safe place)."""
    event = await _delivery_event(session, order_id)
    details = event.details if event is not None else {}
    pod = details.get("pod") or details.get("failure") or None
    if pod is None:
        raise NotFoundError(f"order {order_id} has no proof of delivery")
    recorded = Seal(
        files=dict(pod["seal"]["files"]),
        metadata=pod["seal"]["metadata"],
        digest=pod["seal"]["digest"],
    )
    files: dict[str, bytes] = {}
    problems: list[str] = []
    for name, key in sorted(pod["files"].items()):
        try:
            files[name] = await asyncio.to_thread(store.get, key)
        except (FileNotFoundError, ValueError):
            problems.append(f"{name}: missing from storage")
    gone = {p.split(":")[0] for p in problems}
    problems += [p for p in verify(recorded, files, pod["metadata"]) if p.split(":")[0] not in gone]
    return {
        "order_id": order_id,
        "intact": not problems,
        "problems": problems,
        "digest": recorded.digest,
        "recomputed": seal(files, pod["metadata"]).digest,
    }
