"""The MQTT subscriber: broker messages -> the location pipeline, acknowledged once stored.

Started in the app's lifespan when ``LASTMILE_MQTT_URL`` is set. It connects with MQTT 5,
a stable client id (``LASTMILE_MQTT_CLIENT_ID``), ``clean_start`` off and a session expiry
of a week: the broker keeps the subscriptions and queues QoS 1 messages while the backend is
down or restarting, and sends them when it is back. With persistence the broker keeps the
session across its own restart too, but Mosquitto 2.0 does not restore a shared subscription
(``LASTMILE_MQTT_SHARED_GROUP``; the default is a plain one): with a group, what devices
publish after a broker restart and before the backend has subscribed again is lost.

Acknowledgements: paho's manual acks (aiomqtt 2.5 does not expose the option, so it is set
on its paho client, ``Client._client``): a QoS 1 message is acknowledged (PUBACK) only once
the pipeline returned, i.e. its accepted fixes are committed, or once it was dropped for
good (unknown device, malformed payload, a topic of another organisation: resending would
not help). A message whose storing failed (the database is down) is not acknowledged and
the connection is dropped and made again, after a backoff: the broker sends every
unacknowledged message again on the new connection. On shutdown the subscriber stops taking
messages, waits for those in hand to be stored and acknowledged, then disconnects: the
rest stay with the broker for the next start. A process killed outright (SIGKILL) may have
stored a message it had not acknowledged yet: the broker sends it again and the cleaning
chain refuses it as a duplicate when it is the driver's newest fix (the common case);
QoS 1 is at least once.

The subscriber never stops on bad input: every drop is counted
(``mqtt_dropped_<reason>``, see :mod:`backend.mqtt.drops`) and logged once per device and
reason a minute. A lost broker is retried forever with a doubling backoff (0.5 s to 30 s).
"""

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.config import Settings
from backend.locations.device_directory import DeviceAuth, DeviceDirectory
from backend.locations.fix import DriverRef
from backend.locations.ingest_support import ingest_indexed
from backend.locations.metrics import Counters
from backend.locations.port import LocationPipeline
from backend.mqtt.broker_url import BrokerAddress, parse_broker_url
from backend.mqtt.drops import DropLog, DropReason, counter
from backend.mqtt.org_slugs import OrgSlugs
from backend.mqtt.payloads import (
    MalformedPayloadError,
    Payload,
    lastmile_payload,
    owntracks_payload,
)
from backend.mqtt.topics import LastmileTopic, OwnTracksTopic, filters, parse_topic

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 86_400  # the broker keeps the session (and its queue) this long
IN_FLIGHT = 1000  # messages being stored at once (the MQTT 5 Receive Maximum too)


class _DroppedError(Exception):
    def __init__(self, reason: DropReason, device: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.device = device


@dataclass(frozen=True, slots=True)
class _Work:
    driver: DriverRef
    payload: Payload


class MqttIngest:
    """One per backend process; ``start()`` in the lifespan, ``close()`` before the pipeline
    stops."""

    def __init__(
        self,
        settings: Settings,
        pipeline: LocationPipeline,
        devices: DeviceDirectory,
        engine: AsyncEngine,
        metrics: Counters,
        *,
        backoff_s: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        assert settings.mqtt_url is not None
        self._broker: BrokerAddress = parse_broker_url(settings.mqtt_url.get_secret_value())
        self._client_id = settings.mqtt_client_id
        self._prefix = settings.mqtt_topic_prefix
        self._filters = filters(settings.mqtt_topic_prefix, settings.mqtt_shared_group or None)
        self._pipeline = pipeline
        self._devices = devices
        self._orgs = OrgSlugs(engine)
        self._metrics = metrics
        self._backoff_s = backoff_s
        self._drop_log = DropLog()
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._handlers: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._reconnect = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # subscribed and receiving (tests wait for it)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mqtt-ingest")

    async def close(self) -> None:
        """Stop taking messages, store and acknowledge those in hand, disconnect."""
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=30)
            except TimeoutError:
                log.warning("MQTT ingest did not stop within 30 s; cancelled")
            self._task = None

    # -- connection ----------------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        properties.ReceiveMaximum = IN_FLIGHT
        client = aiomqtt.Client(
            self._broker.host,
            self._broker.port,
            username=self._broker.username,
            password=self._broker.password,
            identifier=self._client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=properties,
            keepalive=30,
            tls_context=ssl.create_default_context() if self._broker.tls else None,
        )
        client._client.manual_ack_set(True)  # PUBACK once stored; see the module docstring
        return client

    async def _run(self) -> None:
        low, high = self._backoff_s
        delay = low
        while not self._stop.is_set():
            try:
                async with self._client() as client:
                    granted = await client.subscribe([(topic, 1) for topic in self._filters])
                    self._check_granted(granted)
                    self._metrics.inc("mqtt_connections")
                    log.info("MQTT ingest: subscribed at %r to %s", self._broker, self._filters)
                    self.connected.set()
                    delay = low
                    await self._serve(client)
            except aiomqtt.MqttError as exc:
                self._metrics.inc("mqtt_connection_failures")
                log.warning("MQTT broker %r: %s; retrying in %.1f s", self._broker, exc, delay)
            except Exception:
                self._metrics.inc("mqtt_connection_failures")
                log.exception("MQTT ingest failed; retrying in %.1f s", delay)
            self.connected.clear()
            if self._stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay * random.uniform(0.8, 1.2))
            delay = min(high, delay * 2)

    def _check_granted(self, granted: Sequence[int | ReasonCode]) -> None:
        """Log the subscriptions the broker refused (its ACL): nothing would come on them."""
        for topic, code in zip(self._filters, granted, strict=False):
            failed = code.is_failure if isinstance(code, ReasonCode) else code >= 0x80
            if failed:
                log.error("MQTT: the broker refused the subscription %s (%s)", topic, code)

    async def _serve(self, client: aiomqtt.Client) -> None:
        """Read until stopped, the connection breaks or a store failed; then let the
        messages in hand finish (stored and acknowledged, or left to the broker)."""
        self._reconnect.clear()
        reader = asyncio.create_task(self._read(client))
        stop = asyncio.create_task(self._stop.wait())
        again = asyncio.create_task(self._reconnect.wait())
        try:
            await asyncio.wait({reader, stop, again}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, stop, again):
                task.cancel()
            await asyncio.gather(reader, stop, again, return_exceptions=True)
            if self._handlers:
                await asyncio.gather(*self._handlers, return_exceptions=True)
        if reader.done() and not reader.cancelled() and reader.exception() is not None:
            raise reader.exception()  # type: ignore[misc]

    # -- messages ------------------------------------------------------------------------

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            received_at = time.time()
            self._metrics.inc("mqtt_messages")
            await self._slots.acquire()
            try:
                work = await self._resolve(message, received_at)
            except _DroppedError as drop:
                self._slots.release()
                self._drop(drop, str(message.topic))
                self._ack(client, message)
                continue
            except Exception:
                self._slots.release()
                self._metrics.inc("mqtt_store_failures")
                log.exception("MQTT: finding the device of %s failed; reconnecting", message.topic)
                self._reconnect.set()
                return
            # Started in arrival order: each runs the pipeline's cleaning before its first
            # wait, so a device's fixes are cleaned in the order the broker sent them.
            task = asyncio.create_task(self._store(client, message, work))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _store(self, client: aiomqtt.Client, message: aiomqtt.Message, work: _Work) -> None:
        try:
            payload = work.payload
            await ingest_indexed(
                self._pipeline, work.driver, payload.fixes, payload.indexes, payload.rejected
            )
        except Exception:
            self._metrics.inc("mqtt_store_failures")
            log.exception("MQTT: storing fixes from %s failed; reconnecting", message.topic)
            self._reconnect.set()  # unacknowledged: the broker sends it again
        else:
            self._ack(client, message)
        finally:
            self._slots.release()

    @staticmethod
    def _ack(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        if message.qos > 0:
            client._client.ack(message.mid, message.qos)

    async def _resolve(self, message: aiomqtt.Message, received_at: float) -> _Work:
        topic = parse_topic(str(message.topic), self._prefix)
        raw = message.payload
        if not isinstance(raw, bytes | bytearray):
            raw = str(raw).encode()
        if isinstance(topic, LastmileTopic):
            device = await self._devices.lookup(topic.device)
            if device is None:
                raise _DroppedError(DropReason.UNKNOWN_DEVICE, topic.device, "not registered")
            if await self._orgs.slug_of(device.driver.org_id) != topic.org_slug:
                raise _DroppedError(
                    DropReason.ORG_MISMATCH,
                    topic.device,
                    f"the device is not in organisation {topic.org_slug!r}",
                )
            parse = lastmile_payload
        elif isinstance(topic, OwnTracksTopic):
            device = await self._owntracks_device(topic)
            parse = owntracks_payload
        else:
            raise _DroppedError(
                DropReason.UNKNOWN_TOPIC, str(message.topic), "no such topic scheme"
            )
        try:
            payload = parse(bytes(raw), received_at)
        except MalformedPayloadError as exc:
            raise _DroppedError(DropReason.MALFORMED, device.identifier, str(exc)) from None
        self._devices.seen(device.device_id, received_at)
        return _Work(device.driver, payload)

    async def _owntracks_device(self, topic: OwnTracksTopic) -> DeviceAuth:
        for identifier in topic.identifiers():
            device = await self._devices.lookup(identifier)
            if device is not None:
                return device
        raise _DroppedError(DropReason.UNKNOWN_DEVICE, topic.identifiers()[0], "not registered")

    def _drop(self, drop: _DroppedError, topic: str) -> None:
        self._metrics.inc(counter(drop.reason))
        if self._drop_log.should_log(drop.device, drop.reason, time.monotonic()):
            log.warning(
                "MQTT: dropped a message on %s (%s): %s (logged once a minute per device)",
                topic,
                drop.reason.value,
                drop,
            )
