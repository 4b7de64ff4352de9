"""What a driver does at a stop, and what it takes to finish it (pure; no I/O).

The rules mirror the server's (``backend/pod/service.py``, ``backend/pod/failures.py`` and
the lifecycle in ``shared/lifecycle.py``) so that the app never lets the driver finish a
stop the server would refuse later, when the driver has long driven on. The one thing it
cannot check is the PIN's value: only the server knows it.
"""

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from driver_app.logic.stops import StopLine
from shared.enums import OrderStatus, ProofType, StopKind
from shared.failures import (
    DEFAULT_FOLLOW_UPS,
    FailureReason,
    FollowUp,
    needs_note,
    needs_photo,
)
from shared.lifecycle import DRIVER_TARGETS, TERMINAL, allowed_targets
from shared.schemas.orders import OrderOut

S = OrderStatus

MAX_PHOTOS = 5  # per proof or report (the server's limit)
MAX_PHOTO_BYTES = 15 * 1024 * 1024  # the server's default limit per photo


class Step(StrEnum):
    """The parts of the flow at a stop, in the order the screen shows them."""

    ARRIVE = "arrive"
    SCAN = "scan"
    PHOTO = "photo"
    SIGNATURE = "signature"
    PIN = "pin"
    AGE_CHECK = "age_check"
    CONFIRM_PICKUP = "confirm_pickup"


def has_pickup(order: OrderOut) -> bool:
    return any(stop.kind is StopKind.PICKUP for stop in order.stops)


def is_pickup(line: StopLine) -> bool:
    return line.stop.kind is StopKind.PICKUP


def steps_for(line: StopLine) -> list[Step]:
    """What the screen offers at this stop. A pickup: the scan when the order lists its
    parcels, then the confirmation. A drop-off: arriving, the scan when the parcels must be
    scanned or are listed, then each proof the order requires."""
    order = line.order
    if order is None:
        return []
    scan = [Step.SCAN] if order.barcodes or ProofType.BARCODE in order.required_proofs else []
    if is_pickup(line):
        return [*scan, Step.CONFIRM_PICKUP]
    proofs = {
        ProofType.PHOTO: Step.PHOTO,
        ProofType.SIGNATURE: Step.SIGNATURE,
        ProofType.PIN: Step.PIN,
        ProofType.AGE_CHECK: Step.AGE_CHECK,
    }
    required = set(order.required_proofs)
    return [Step.ARRIVE, *scan, *(step for p, step in proofs.items() if p in required)]


# --- the lifecycle -------------------------------------------------------------------------
def path_to(current: OrderStatus, target: OrderStatus, *, pickup: bool) -> list[OrderStatus]:
    """The statuses a driver moves the order through to reach ``target``, ``target`` last
    (empty when it is there already); :class:`ValueError` when a driver cannot get there."""
    if current is target:
        return []
    came_from: dict[OrderStatus, OrderStatus] = {}
    queue = deque([current])
    while queue:
        status = queue.popleft()
        for nxt in sorted(allowed_targets(status, has_pickup=pickup) & DRIVER_TARGETS):
            if nxt in came_from or nxt is current:
                continue
            came_from[nxt] = status
            if nxt is target:
                path = [nxt]
                while path[-1] in came_from and came_from[path[-1]] is not current:
                    path.append(came_from[path[-1]])
                return path[::-1]
            queue.append(nxt)
    raise ValueError(f"a driver cannot take an order from '{current}' to '{target}'")


def blocked_reason(line: StopLine, status: OrderStatus | None) -> str | None:
    """Why nothing can be done at this stop now (None: the flow is open)."""
    order = line.order
    if order is None or status is None:
        return "This order is no longer yours: ask dispatch."
    if status in TERMINAL or status in {S.FAILED, S.RESCHEDULED}:
        return "This stop is already finished."
    if status is S.CREATED:
        return "This order is no longer yours: ask dispatch."
    if is_pickup(line):
        if status not in {S.ASSIGNED, S.EN_ROUTE_TO_PICKUP}:
            return "This parcel is already picked up."
    elif has_pickup(order) and status in {S.ASSIGNED, S.EN_ROUTE_TO_PICKUP}:
        return "Pick the parcel up first: its pickup stop is not done."
    return None


# --- parcels -------------------------------------------------------------------------------
class ParcelVerdict(StrEnum):
    ACCEPTED = "accepted"
    ALREADY = "already"
    WRONG = "wrong"
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class ParcelCheck:
    verdict: ParcelVerdict
    code: str  # the order's own spelling of the code when it is one of its parcels
    message: str

    @property
    def loud(self) -> bool:
        """A wrong parcel: warned loudly (it must not be left here)."""
        return self.verdict is ParcelVerdict.WRONG


def _key(code: str) -> str:
    """Drivers type codes as they read them: case, spaces and dashes do not count."""
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def check_parcel(
    text: str,
    parcels: Sequence[str],
    scanned: Sequence[str],
    homes: Mapping[str, str] | None = None,
) -> ParcelCheck:
    """A typed or read code against this stop's ``parcels``: one of them (the first time or
    again), or a parcel that must not be left here (``homes``: code -> where it goes)."""
    typed = text.strip()
    if not _key(typed):
        return ParcelCheck(ParcelVerdict.EMPTY, "", "Type the code printed under the barcode.")
    mine = {_key(code): code for code in parcels}
    code = mine.get(_key(typed))
    if code is None:
        home = next((where for c, where in (homes or {}).items() if _key(c) == _key(typed)), None)
        where = f" It goes to {home}." if home else ""
        return ParcelCheck(
            ParcelVerdict.WRONG,
            typed,
            f"WRONG PARCEL: {typed} is not for this stop.{where} Keep it in the van.",
        )
    done = {*scanned, code}
    progress = f"{len(done & set(parcels))} of {len(set(parcels))} parcels scanned"
    if code in scanned:
        return ParcelCheck(ParcelVerdict.ALREADY, code, f"{code} was already scanned ({progress}).")
    return ParcelCheck(ParcelVerdict.ACCEPTED, code, f"{code} OK ({progress}).")


def parcel_homes(lines: Sequence[StopLine]) -> dict[str, str]:
    """Each parcel of the day, and the stop it goes to (for the wrong-parcel warning)."""
    homes: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if line.order is None or line.stop.kind is StopKind.PICKUP:
            continue
        for code in line.order.barcodes:
            homes[code] = f"stop {number} ({line.stop.address})"
    return homes


# --- finishing -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Draft:
    """What the driver has gathered at the stop so far."""

    scanned: tuple[str, ...] = ()
    photos: int = 0
    signed: bool = False  # a signature the server would accept was drawn
    recipient_name: str = ""
    pin: str = ""
    age_checked: bool = False


def scan_progress(order: OrderOut, scanned: Sequence[str]) -> str:
    total = len(set(order.barcodes))
    done = len(set(scanned) & set(order.barcodes))
    return f"{done} of {total} parcels scanned"


def missing(line: StopLine, draft: Draft) -> list[str]:
    """What stands between the driver and finishing the stop, in plain words (empty: the
    stop can be finished). For a drop-off it is what the server requires of the proof."""
    order = line.order
    if order is None:
        return []
    required = set(order.required_proofs)
    needed: list[str] = []
    if ProofType.BARCODE in required:
        if not order.barcodes:
            needed.append("This order needs a parcel scan but lists no parcels: call dispatch.")
        elif not set(order.barcodes) <= set(draft.scanned):
            needed.append(f"Scan every parcel ({scan_progress(order, draft.scanned)}).")
    if is_pickup(line):
        return needed
    if ProofType.PHOTO in required and draft.photos == 0:
        needed.append("Take a photo of the parcel at the door.")
    if ProofType.SIGNATURE in required and not draft.signed:
        needed.append("Get the recipient's signature.")
    if draft.signed and not draft.recipient_name.strip():
        needed.append("Write the name of the person who signed.")
    if ProofType.PIN in required and not draft.pin.strip():
        needed.append("Enter the PIN the customer gives you.")
    if ProofType.AGE_CHECK in required and not draft.age_checked:
        needed.append("Check the recipient's ID (age check).")
    return needed


def photo_problem(data: bytes) -> str | None:
    """Why the server would refuse this photo, when the app can tell (None: looks fine)."""
    if not data:
        return "That file is empty."
    if len(data) > MAX_PHOTO_BYTES:
        return f"That photo is over {MAX_PHOTO_BYTES // (1024 * 1024)} MB: take a smaller one."
    jpeg = data.startswith(b"\xff\xd8\xff")
    png = data.startswith(b"\x89PNG\r\n\x1a\n")
    webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if not (jpeg or png or webp):
        return "That file is not a photo (JPEG, PNG or WebP)."
    return None


# --- failed deliveries ---------------------------------------------------------------------
REASON_LABELS: Mapping[FailureReason, str] = {
    FailureReason.NOT_HOME: "Nobody home",
    FailureReason.WRONG_ADDRESS: "Wrong address",
    FailureReason.ACCESS_PROBLEM: "Can't get in (gate, code, lift)",
    FailureReason.REFUSED: "Customer refused it",
    FailureReason.DAMAGED: "Parcel damaged",
    FailureReason.UNSAFE: "Unsafe to deliver",
    FailureReason.BUSINESS_CLOSED: "Business closed",
    FailureReason.OTHER: "Something else",
}

FOLLOW_UP_TEXT: Mapping[FollowUp, str] = {
    FollowUp.REATTEMPT_TODAY: "We'll try again later today: the stop goes back on your route.",
    FollowUp.NEXT_DAY: "Rescheduled: the customer picks a new day. Keep the parcel in the van.",
    FollowUp.SAFE_PLACE: "Leave it in a safe place and take a photo of where: it counts as "
    "delivered.",
    FollowUp.RETURN_TO_DEPOT: "The parcel goes back to the depot: keep it in the van.",
}


def follow_up(reason: FailureReason, overrides: Mapping[str, str] | None = None) -> FollowUp:
    """What the server will do after this reason (a deployment may override the defaults:
    pass the same mapping as the server's ``LASTMILE_FAILURE_FOLLOW_UPS``)."""
    configured = (overrides or {}).get(reason.value)
    return FollowUp(configured) if configured else DEFAULT_FOLLOW_UPS[reason]


def failure_outcome(follow: FollowUp) -> OrderStatus:
    """Where the report takes the order (a parcel left at a safe place is delivered)."""
    return S.DELIVERED if follow is FollowUp.SAFE_PLACE else S.FAILED


def failure_missing(
    reason: FailureReason | None, follow: FollowUp | None, note: str, photos: int
) -> list[str]:
    """What the report still needs, in plain words (the server's ``check_report``)."""
    if reason is None or follow is None:
        return ["Choose what went wrong."]
    needed = []
    if needs_note(reason) and not note.strip():
        needed.append("Say what happened.")
    if needs_photo(follow) and photos == 0:
        needed.append("Take a photo of where you left the parcel.")
    return needed
