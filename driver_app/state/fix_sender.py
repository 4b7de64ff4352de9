"""The queue's sender: fixes over MQTT when it is set up, else (or when it fails) over HTTP.

:class:`FallbackFixSender` stands where :class:`~driver_app.services.sender.ApiSender` stands
for the sync loop (:class:`~driver_app.state.sync.SyncLoop`). Without MQTT (``mqtt`` None,
the default) it is the HTTP sender; :meth:`FallbackFixSender.use` switches MQTT on, off or to
another broker while the queue runs. A batch of fixes goes over MQTT unless MQTT failed
recently (:class:`~driver_app.logic.fix_transport.MqttBackoff`); when the
publish fails (no broker, a refused login or topic, no acknowledgement in time) the same
batch goes over HTTP at once, so it is never lost nor stuck behind the broker: the loop sees
one send that succeeded, or the HTTP failure it already knows how to handle. Actions and
token refreshes always go over HTTP.

Over MQTT the broker's acknowledgement is the answer: every fix counts as accepted (the
backend cleans and counts them as it does for HTTP, but cannot answer the phone).

For the strip: ``mqtt_on``, ``transport`` (the last batch's, None before the first),
``reason`` (why the last batch went over HTTP) and ``mqtt_again_at`` (when MQTT is tried
again).
"""

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from app_kit.clock import utc_now
from app_kit.observable import Observable
from driver_app.logic.actions import Files
from driver_app.logic.fix_transport import (
    MQTT_FAILED,
    MqttBackoff,
    MqttPublishError,
    Transport,
    batch_payload,
)
from driver_app.services.outbox import QueuedAction
from driver_app.services.sender import Sender
from shared.schemas.locations import FixIn, IngestResponse

log = logging.getLogger(__name__)


class FixPublisher(Protocol):
    """What :class:`~driver_app.services.mqtt_fixes.MqttFixPublisher` offers: ``publish``
    returns once the broker holds the payload, else raises :class:`MqttPublishError`."""

    async def publish(self, topic: str, payload: bytes) -> None: ...

    async def aclose(self) -> None: ...


class FallbackFixSender(Observable):
    def __init__(
        self,
        http: Sender,
        mqtt: FixPublisher | None = None,
        topic: str = "",
        *,
        backoff: MqttBackoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__()
        self._http = http
        self._mqtt = mqtt
        self.topic = topic
        self.backoff = backoff or MqttBackoff()
        self._clock = clock
        self._now = now
        self.transport: Transport | None = None
        self.reason: str | None = None
        self.mqtt_again_at: datetime | None = None
        self.sent = {Transport.MQTT: 0, Transport.HTTP: 0}  # batches sent each way

    @property
    def mqtt_on(self) -> bool:
        return self._mqtt is not None

    async def use(self, mqtt: FixPublisher | None, topic: str = "") -> None:
        """From the next batch on, publish with ``mqtt`` on ``topic`` (None: HTTP only);
        the previous publisher is closed (after the batch it may be sending)."""
        previous, self._mqtt, self.topic = self._mqtt, mqtt, topic
        self.backoff.succeeded()
        self.transport, self.reason, self.mqtt_again_at = None, None, None
        self.notify()
        if previous is not None and previous is not mqtt:
            await previous.aclose()

    @property
    def base_url(self) -> str:
        return self._http.base_url

    async def send(self, item: QueuedAction, files: Files) -> dict[str, Any]:
        return await self._http.send(item, files)

    async def refresh(self) -> None:
        await self._http.refresh()

    async def send_fixes(self, fixes: list[FixIn]) -> IngestResponse:
        mqtt = self._mqtt
        if mqtt is not None and self.backoff.use_mqtt(self._clock()):
            try:
                await mqtt.publish(self.topic, batch_payload(fixes))
            except MqttPublishError as exc:
                self._mqtt_failed(mqtt, exc)
            except Exception as exc:  # a bug on the MQTT side must not cost the batch
                log.exception("publishing %d fixes over MQTT failed", len(fixes))
                self._mqtt_failed(mqtt, MqttPublishError(MQTT_FAILED, str(exc)))
            else:
                if mqtt is self._mqtt:
                    self.backoff.succeeded()
                self._sent(Transport.MQTT, None)
                return IngestResponse(accepted=len(fixes), rejected=[])
        answer = await self._http.send_fixes(fixes)
        self._sent(Transport.HTTP, self.reason)
        return answer

    async def aclose(self) -> None:
        if self._mqtt is not None:
            await self._mqtt.aclose()

    def _mqtt_failed(self, mqtt: FixPublisher, exc: MqttPublishError) -> None:
        if mqtt is not self._mqtt:  # switched (:meth:`use`) meanwhile: the new one starts afresh
            log.info("fixes over HTTP: the previous MQTT setting failed: %s", exc)
            return
        delay_s = self.backoff.failed(self._clock())
        self.reason = exc.reason
        self.mqtt_again_at = self._now() + timedelta(seconds=delay_s)
        log.warning("fixes over HTTP, MQTT again in %.0f s: %s", delay_s, exc)
        self.notify()

    def _sent(self, transport: Transport, reason: str | None) -> None:
        self.sent[transport] += 1
        self.transport, self.reason = transport, reason
        if transport is Transport.MQTT:
            self.mqtt_again_at = None
        self.notify()
