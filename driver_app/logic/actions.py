"""What a driver does to an order, as it waits in the offline queue (pure; no I/O).

Each action is a small model that round-trips through JSON (the queue stores it as text);
its pictures travel beside it as :data:`Files`, never inside the JSON. The server makes
every one of them idempotent through the queue's client id, except scans, which only check
and so may be sent any number of times.
"""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from app_kit.labels import status_label
from shared.enums import OrderStatus
from shared.lifecycle import DRIVER_TARGETS
from shared.schemas.common import Latitude, Longitude, StrictModel

# Form field -> the files sent under it, in order (photos, a signature picture, a label).
Files = dict[str, list[bytes]]


class ActionKind(StrEnum):
    TRANSITION = "transition"
    POD = "pod"
    FAILURE = "failure"
    SCAN = "scan"


class _OrderAction(StrictModel):
    order_id: int = Field(gt=0)
    lat: Latitude | None = None  # the phone's position when the driver acted
    lng: Longitude | None = None


class TransitionAction(_OrderAction):
    """Move the order along its lifecycle (``POST /orders/{id}/transitions``)."""

    kind: Literal[ActionKind.TRANSITION] = ActionKind.TRANSITION
    to: OrderStatus
    reason: str | None = Field(default=None, max_length=500)


class ProofAction(_OrderAction):
    """Deliver with a proof (``POST /orders/{id}/pod``); files: ``photos``, ``signature_png``."""

    kind: Literal[ActionKind.POD] = ActionKind.POD
    recipient_name: str | None = Field(default=None, max_length=200)
    signature: str | None = Field(default=None, max_length=100_000)  # strokes as JSON
    barcodes: list[str] = Field(default_factory=list)
    pin: str | None = Field(default=None, max_length=8)
    age_checked: bool = False
    notes: str = Field(default="", max_length=1000)


class FailureAction(_OrderAction):
    """The delivery could not be made (``POST /orders/{id}/failure``); files: ``photos``."""

    kind: Literal[ActionKind.FAILURE] = ActionKind.FAILURE
    reason: str = Field(min_length=1, max_length=50)
    note: str = Field(default="", max_length=1000)


class ScanAction(StrictModel):
    """Parcels scanned for an order (``POST /orders/{id}/scans``); files: ``image``."""

    kind: Literal[ActionKind.SCAN] = ActionKind.SCAN
    order_id: int = Field(gt=0)
    codes: list[str] = Field(default_factory=list)


Action = Annotated[
    TransitionAction | ProofAction | FailureAction | ScanAction, Field(discriminator="kind")
]
ACTION: TypeAdapter[Action] = TypeAdapter(Action)

# The file fields each kind may carry, and how many files under each.
FILE_FIELDS: dict[ActionKind, dict[str, int]] = {
    ActionKind.TRANSITION: {},
    ActionKind.POD: {"photos": 5, "signature_png": 1},
    ActionKind.FAILURE: {"photos": 5},
    ActionKind.SCAN: {"image": 1},
}


class InvalidActionError(ValueError):
    """An action the server would refuse whatever happens: refused before it is queued."""


def check_action(action: Action, files: Files) -> None:
    """Refuse what can never succeed, so that nothing hopeless waits in the queue."""
    allowed = FILE_FIELDS[action.kind]
    for field, contents in files.items():
        if field not in allowed:
            raise InvalidActionError(f"a {action.kind} carries no '{field}' files")
        if len(contents) > allowed[field]:
            raise InvalidActionError(f"{field}: {len(contents)} files; at most {allowed[field]}")
        if any(not data for data in contents):
            raise InvalidActionError(f"{field}: an empty file")
    if isinstance(action, TransitionAction) and action.to not in DRIVER_TARGETS:
        raise InvalidActionError(f"drivers cannot move an order to '{action.to}'")
    if (getattr(action, "lat", None) is None) != (getattr(action, "lng", None) is None):
        raise InvalidActionError("give both lat and lng, or neither")
    if isinstance(action, ScanAction) and not action.codes and not files.get("image"):
        raise InvalidActionError("a scan needs the codes read or a picture of the label")


def order_label(order_id: int, order_ref: str | None) -> str:
    """``Order REF-12`` when the order has a reference, else ``Order 42``."""
    return f"Order {order_ref or order_id}"


def what_was_done(action: Action) -> str:
    """The action in the driver's words, as the object of a sentence."""
    match action:
        case TransitionAction(to=OrderStatus.DELIVERED):
            return "your delivery"
        case TransitionAction(to=OrderStatus.FAILED):
            return "your failed-delivery report"
        case TransitionAction(to=to):
            return f"your change to \u201c{status_label(to)}\u201d"
        case ProofAction():
            return "your delivery"
        case FailureAction():
            return "your failed-delivery report"
        case ScanAction():
            return "your scan"
