"""Batches of fixes published to the MQTT broker (aiomqtt), one at a time, at QoS 1.

One connection, made at the first publish and kept: a later publish reuses it, and after a
failure the next publish connects again. :meth:`MqttFixPublisher.publish` returns only once
the broker acknowledged the batch (PUBACK, MQTT 5), so the caller may forget the fixes then:
the broker holds them and delivers them to the backend's persistent session, even while
the backend is restarting. Anything else raises :class:`MqttPublishError` with the reason in a
few words; the batch may then go another way (HTTP).

Once a publish has failed the connection is dropped with everything paho still held for it
(a clean start, no session): a batch handed over to HTTP is not sent over MQTT again. A
batch whose PUBACK came too late (a stalled broker) may still reach the backend through the
broker as well as over HTTP; the backend remembers each driver's recent ``recorded_at``
values and refuses the second copy as duplicates, so it is stored once.
"""

import asyncio
import contextlib
import logging
import math
import ssl
from collections.abc import Callable
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.reasoncodes import ReasonCode

from driver_app.logic.fix_transport import (
    NO_ACK,
    REFUSED_LOGIN,
    REFUSED_TOPIC,
    UNREACHABLE,
    MqttPublishError,
    MqttSetting,
)

log = logging.getLogger(__name__)


# CONNACK codes for a refused login: MQTT 5 (bad user name or password, not authorized)
# and MQTT 3.1.1 (4 and 5).
_LOGIN_REFUSED = {134, 135, 4, 5}


class MqttFixPublisher:
    """Publishes one batch at a time over a connection kept between batches.

    ``timeout_s`` bounds connecting and waiting for each PUBACK."""

    def __init__(
        self, setting: MqttSetting, *, timeout_s: float = 10.0, keepalive_s: int = 60
    ) -> None:
        self.setting = setting
        self._timeout_s = timeout_s
        self._keepalive_s = keepalive_s
        self._client: aiomqtt.Client | None = None
        self._lock = asyncio.Lock()
        self._puback: ReasonCode | None = None  # the last PUBACK's reason code

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish ``payload`` at QoS 1 and wait for the broker's acknowledgement."""
        async with self._lock:
            kept = self._client is not None
            while True:
                client = await self._connect()
                try:
                    await self._publish_on(client, topic, payload)
                except aiomqtt.MqttCodeError as exc:
                    # Not sent at all: a kept connection the broker dropped meanwhile (it
                    # restarted, the phone changed networks): once more on a new one.
                    await self._drop()
                    if not kept:
                        raise MqttPublishError(UNREACHABLE, str(exc)) from exc
                    log.info("MQTT connection lost (%s); connecting again", exc)
                    kept = False
                else:
                    return

    async def aclose(self) -> None:
        async with self._lock:
            await self._drop()

    async def _connect(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        s = self.setting
        client = aiomqtt.Client(
            s.host,
            s.port,
            username=s.device,
            password=s.password,
            protocol=aiomqtt.ProtocolVersion.V5,
            timeout=self._timeout_s,
            keepalive=self._keepalive_s,
            clean_start=True,
            tls_context=ssl.create_default_context() if s.tls else None,
        )
        _record_pubacks(client, self._on_puback)
        try:
            await asyncio.wait_for(client.__aenter__(), self._timeout_s)
        except MqttConnectError as exc:
            code = exc.rc.value if isinstance(exc.rc, ReasonCode) else exc.rc
            reason = REFUSED_LOGIN if code in _LOGIN_REFUSED else UNREACHABLE
            raise MqttPublishError(reason, str(exc)) from exc
        except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
            raise MqttPublishError(UNREACHABLE, str(exc) or type(exc).__name__) from exc
        self._client = client
        log.info("connected to the MQTT broker %s", s.display())
        return client

    async def _publish_on(self, client: aiomqtt.Client, topic: str, payload: bytes) -> None:
        self._puback = None
        try:
            await asyncio.wait_for(
                client.publish(topic, payload, qos=1, timeout=math.inf), self._timeout_s
            )
        except TimeoutError as exc:
            await self._drop()
            raise MqttPublishError(NO_ACK, f"no PUBACK within {self._timeout_s:g} s") from exc
        except aiomqtt.MqttCodeError:
            raise  # not sent: the caller decides
        except aiomqtt.MqttError as exc:
            await self._drop()
            raise MqttPublishError(UNREACHABLE, str(exc)) from exc
        code = self._puback
        if code is not None and code.is_failure:  # e.g. the ACL refused the topic
            raise MqttPublishError(REFUSED_TOPIC, f"{code} for {topic}")

    def _on_puback(self, code: ReasonCode) -> None:
        self._puback = code

    async def _drop(self) -> None:
        """Forget the connection (and whatever paho still held for it)."""
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.__aexit__(None, None, None), self._timeout_s)
        # A connection lost under us left its reason in this future: read it, so asyncio
        # does not log it as never retrieved.
        gone = client._disconnected
        if gone.done() and not gone.cancelled():
            gone.exception()


def _record_pubacks(client: aiomqtt.Client, record: Callable[[ReasonCode], None]) -> None:
    """Have ``record(reason_code)`` called on every PUBACK (aiomqtt drops the code; with
    MQTT 5 it says whether the broker took the message, e.g. 135 when the ACL refused it)."""
    paho = client._client
    inner = paho.on_publish

    def on_publish(*args: Any) -> None:
        _, _, _, reason_code, _ = args
        record(reason_code)
        if inner is not None:
            inner(*args)

    paho.on_publish = on_publish
