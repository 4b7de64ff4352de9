"""The three shift states a driver chooses from; the server sets the working ones."""

from app_kit.labels import status_label
from shared.enums import DriverStatus

SHIFT_CHOICES: tuple[DriverStatus, ...] = (
    DriverStatus.OFFLINE,
    DriverStatus.IDLE,
    DriverStatus.ON_BREAK,
)
_LABELS = {
    DriverStatus.OFFLINE: "Off shift",
    DriverStatus.IDLE: "On shift",
    DriverStatus.ON_BREAK: "On break",
}


def shift_choice(status: DriverStatus) -> DriverStatus:
    """The choice ``status`` falls under: driving or delivering counts as on shift."""
    return status if status in SHIFT_CHOICES else DriverStatus.IDLE


def shift_label(status: DriverStatus) -> str:
    return _LABELS.get(status) or status_label(status)
