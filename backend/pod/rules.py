"""What a proof of delivery must contain, and whether it was taken where it should be. Pure."""

from collections.abc import Iterable
from dataclasses import dataclass

from shared.enums import ProofType
from shared.geo import Point, haversine_m

DEFAULT_RADIUS_M = 200.0


def missing_proofs(required: Iterable[str], provided: Iterable[ProofType]) -> list[ProofType]:
    """The required proof types not provided, in ``ProofType`` order (unknown names in
    ``required`` are ignored: an order created before a type was retired stays completable)."""
    have = set(provided)
    wanted = {ProofType(r) for r in required if r in ProofType.__members__.values()}
    return [p for p in ProofType if p in wanted and p not in have]


def missing_message(missing: list[ProofType]) -> str:
    """What the driver app shows when completion is refused."""
    names = ", ".join(p.value for p in missing)
    return f"missing proof of delivery: {names} (required for this order)"


@dataclass(frozen=True, slots=True)
class PlaceCheck:
    """How far from the delivery address a proof was taken, and whether that is too far."""

    distance_m: float | None  # None: the proof carries no position
    radius_m: float
    source: str  # "photo" (EXIF) or "app" (the phone's fix at capture) or "none"

    @property
    def flagged(self) -> bool:
        """Accepted, but for the dispatcher to look at: taken too far away, or nowhere."""
        return self.distance_m is None or self.distance_m > self.radius_m


def place_check(
    address: Point,
    photo_gps: Point | None,
    app_fix: Point | None,
    radius_m: float = DEFAULT_RADIUS_M,
) -> PlaceCheck:
    """The photo's own GPS when it has one (it is where the picture was taken), else the
    app's fix at capture."""
    if photo_gps is not None:
        return PlaceCheck(haversine_m(address, photo_gps), radius_m, "photo")
    if app_fix is not None:
        return PlaceCheck(haversine_m(address, app_fix), radius_m, "app")
    return PlaceCheck(None, radius_m, "none")
