"""The phone's or the browser's position through flet-geolocator (a :class:`LocationSource`).

Thin on purpose: every decision is in :mod:`driver_app.state.gps` and tested there with a
fake source. Make it inside a Flet session: the control registers itself with the current
page. On the web, the browser asks the driver for permission; a desktop browser without
location (or one that was refused) reads as unavailable or denied, and the app says so.
"""

import asyncio
import logging
from datetime import UTC

from flet_geolocator import (
    Geolocator,
    GeolocatorConfiguration,
    GeolocatorPermissionStatus,
    GeolocatorPosition,
    GeolocatorPositionAccuracy,
)

from driver_app.services.location import Access, NoPositionError, Reading

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 30.0  # no fix by then: searching (a tunnel, indoors), try again later
_GRANTED = {GeolocatorPermissionStatus.WHILE_IN_USE, GeolocatorPermissionStatus.ALWAYS}


class FletLocation:
    def __init__(self, geolocator: Geolocator | None = None) -> None:
        self._geolocator = geolocator or Geolocator(
            configuration=GeolocatorConfiguration(accuracy=GeolocatorPositionAccuracy.HIGH)
        )

    async def access(self) -> Access:
        geolocator = self._geolocator
        try:
            if not await geolocator.is_location_service_enabled():
                return Access.UNAVAILABLE
            status = await geolocator.get_permission_status()
            if status is GeolocatorPermissionStatus.DENIED:
                status = await geolocator.request_permission()
        except Exception:  # no location API on this platform, or it never answered
            log.info("no location here", exc_info=True)
            return Access.UNAVAILABLE
        if status in _GRANTED or status is GeolocatorPermissionStatus.UNABLE_TO_DETERMINE:
            return Access.GRANTED  # unable to determine: the first read will tell
        return Access.DENIED

    async def read(self) -> Reading:
        try:
            position = await asyncio.wait_for(
                self._geolocator.get_current_position(), READ_TIMEOUT_S
            )
        except TimeoutError as exc:
            raise NoPositionError("Looking for a GPS signal\N{HORIZONTAL ELLIPSIS}") from exc
        except Exception as exc:
            raise NoPositionError(f"The device gives no position: {exc}", lasting=True) from exc
        return _reading(position)


def _reading(position: GeolocatorPosition) -> Reading:
    if position.latitude is None or position.longitude is None or position.timestamp is None:
        raise NoPositionError("Looking for a GPS signal\N{HORIZONTAL ELLIPSIS}")
    at = position.timestamp
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    # Platforms without a value report 0.0; a speed is believed with its accuracy, or when
    # it is not zero. Otherwise pacing works the speed out from the distance moved.
    speed = position.speed if position.speed_accuracy else (position.speed or None)
    if speed is not None and speed < 0:  # iOS says -1 for "no idea"
        speed = None
    return Reading(
        lat=float(position.latitude),
        lng=float(position.longitude),
        recorded_at=at,
        speed_mps=float(speed) if speed is not None else None,
        heading_deg=float(position.heading) % 360 if position.heading else None,
        accuracy_m=float(position.accuracy) if position.accuracy else None,
        altitude_m=float(position.altitude) if position.altitude else None,
    )
