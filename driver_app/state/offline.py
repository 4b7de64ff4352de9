"""The signed-in driver's offline work: their queue file, the loop sending it, their GPS.

Owned by the app state (:class:`driver_app.state.app.DriverAppState`): opened once the
driver has signed in (the file is per server and per driver, so a phone shared between
drivers never sends one driver's actions as another's), closed on sign-out or when the app
closes; whatever is still queued is sent after the next sign-in of the same driver.

The fixes leave through :class:`~driver_app.state.fix_sender.FallbackFixSender` (``fixes``):
over HTTP, or over MQTT when the app has a default broker or the driver saved their own
(``mqtt_settings``, kept beside the queue), falling back to HTTP. aiomqtt is imported only
when MQTT is used.
"""

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Self

from driver_app.logic.fix_transport import MqttSetting, fixes_topic
from driver_app.services.location import LocationSource
from driver_app.services.mqtt_url_file import MqttUrlFile
from driver_app.services.outbox import Outbox, QueuedAction
from driver_app.services.sender import ApiSender
from driver_app.state.fix_sender import FallbackFixSender, FixPublisher
from driver_app.state.gps import GpsStreamer
from driver_app.state.mqtt_settings import MqttSettingsState
from driver_app.state.sync import SyncLoop
from shared.api_client import ApiClient
from shared.enums import DriverStatus


def mqtt_publisher(setting: MqttSetting) -> FixPublisher:
    # Imported here: only an app that uses MQTT loads aiomqtt and paho.
    from driver_app.services.mqtt_fixes import MqttFixPublisher

    return MqttFixPublisher(setting)


def queue_path(data_dir: Path, base_url: str, driver_id: int) -> Path:
    """``data_dir/queue-<server>-driver-<id>.sqlite``: one file per server and driver."""
    server = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:12]
    return data_dir / f"queue-{server}-driver-{driver_id}.sqlite"


class OfflineWork:
    """``sync`` (the queue: submit actions, read what is pending and the conflicts),
    ``gps`` (None where the app has no location source), ``fixes`` (how the fixes leave) and
    ``mqtt_settings`` (the driver's MQTT setting)."""

    def __init__(
        self,
        outbox: Outbox,
        sync: SyncLoop,
        gps: GpsStreamer | None,
        fixes: FallbackFixSender,
        mqtt_settings: MqttSettingsState,
    ) -> None:
        self.outbox, self.sync, self.gps = outbox, sync, gps
        self.fixes, self.mqtt_settings = fixes, mqtt_settings

    @classmethod
    async def open(
        cls,
        client: ApiClient,
        data_dir: Path,
        driver_id: int,
        *,
        location: LocationSource | None = None,
        on_expired: Callable[[], None] = lambda: None,
        on_settled: Callable[[QueuedAction], Awaitable[None]] | None = None,
        mqtt: MqttSetting | None = None,
        org_slug: str = "",
        publisher: Callable[[MqttSetting], FixPublisher] = mqtt_publisher,
    ) -> Self:
        """Open the driver's queue and start sending it (GPS waits for :meth:`follow_shift`).
        ``mqtt``: the app's default broker for the fixes, on ``org_slug``'s topic (the
        driver's own saved setting, if any, wins)."""
        path = queue_path(data_dir, client.base_url, driver_id)
        fixes = FallbackFixSender(ApiSender(client))

        async def apply(setting: MqttSetting | None) -> None:
            if setting is None:
                await fixes.use(None)
            else:
                await fixes.use(publisher(setting), fixes_topic(org_slug, setting.device))

        settings = MqttSettingsState(MqttUrlFile(path.with_suffix(".mqtt")), mqtt, apply)
        outbox = await Outbox.open(path)
        try:
            await apply(await settings.load())
        except Exception:
            await outbox.close()
            raise
        sync = SyncLoop(outbox, fixes, on_expired=on_expired, on_settled=on_settled)
        gps = GpsStreamer(location, sync) if location is not None else None
        sync.start()
        return cls(outbox, sync, gps, fixes, settings)

    def follow_shift(self, status: DriverStatus | None) -> None:
        """GPS on while on shift, off (and the fixes flushed) when the shift ends."""
        if self.gps is not None:
            self.gps.follow_shift(status)

    async def aclose(self) -> None:
        """Stop the GPS and the sending, and close the file (what is queued stays)."""
        if self.gps is not None:
            await self.gps.aclose()
        await self.sync.aclose()
        await self.fixes.aclose()
        await self.outbox.close()
