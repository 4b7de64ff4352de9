"""GPS fixes over MQTT, falling back to HTTP batches: the setting, the topic, the policy (pure).

The setting is one URL, ``mqtt://DEVICE:PASSWORD@host:1883`` (``mqtts://`` for TLS; default
ports 1883 and 8883): the user name is the device identifier registered for the driver,
which is also its broker user (the sample ACL lets user ``%u`` publish only to
``lastmile/+/drivers/%u/locations``). The fixes of a batch go to
``lastmile/{org_slug}/drivers/{device}/locations``, the HTTP batch body as payload.

When MQTT fails (the broker cannot be reached, refuses the device, or does not acknowledge
in time) the batch goes over HTTP at once, and MQTT is tried again only after a back-off that
doubles (30 s to 5 min by default) and starts over after a success
(:class:`MqttBackoff`).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from shared.schemas.locations import FixIn

TOPIC_PREFIX = "lastmile"
_SCHEMES = {"mqtt": False, "mqtts": True}  # scheme -> TLS
_EXAMPLE = "mqtt://DEVICE:PASSWORD@host:1883"


# Why a batch went over HTTP, in a few words for the driver.
UNREACHABLE = "MQTT broker unreachable"
NO_ACK = "MQTT broker did not confirm in time"
REFUSED_LOGIN = "MQTT broker refused the device's user name or password"
REFUSED_TOPIC = "MQTT broker refused the device's topic"
MQTT_FAILED = "MQTT failed"  # anything else (a bug): logged with its traceback


class MqttSettingError(ValueError):
    """The MQTT setting cannot be used; the message says why, in plain words."""


class MqttPublishError(Exception):
    """The broker did not take the batch; ``reason`` says why in a few words."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MqttSetting:
    """Where and as whom the app publishes its fixes."""

    host: str
    port: int
    device: str  # the registered device identifier, and the broker user name
    password: str | None
    tls: bool

    def __repr__(self) -> str:  # never print the password
        scheme = "mqtts" if self.tls else "mqtt"
        return f"MqttSetting({scheme}://{self.device}@{self.host}:{self.port})"

    def display(self) -> str:
        """The URL without its password, for people."""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.device}@{self.host}:{self.port}"


def _check_level(value: str, what: str) -> None:
    if any(char in value for char in "/+#\x00"):
        raise MqttSettingError(f"The {what} cannot contain '/', '+' or '#' (it is a topic level).")


def parse_mqtt_url(url: str) -> MqttSetting:
    """Read the MQTT setting; :class:`MqttSettingError` with a clear message when unusable."""
    text = url.strip()
    if not text:
        raise MqttSettingError(f"No MQTT broker given: use {_EXAMPLE}.")
    if "://" not in text:
        raise MqttSettingError(f"The MQTT broker address must look like {_EXAMPLE}.")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise MqttSettingError(
            f"The MQTT broker address starts with {scheme}://; use mqtt:// (or mqtts:// for TLS)."
        )
    tls = _SCHEMES[scheme]
    if not parts.hostname:
        raise MqttSettingError(f"The MQTT broker address names no host: use {_EXAMPLE}.")
    try:
        port = parts.port
    except ValueError:
        port_text = parts.netloc.rpartition(":")[2]
        raise MqttSettingError(
            f"The MQTT port {port_text!r} is not a number from 1 to 65535."
        ) from None
    if port == 0:
        raise MqttSettingError("The MQTT port 0 is not a number from 1 to 65535.")
    if not parts.username:
        raise MqttSettingError(
            f"The MQTT broker address names no device: put its broker user first, {_EXAMPLE}."
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise MqttSettingError(f"The MQTT broker address takes no path or query: {_EXAMPLE}.")
    device = unquote(parts.username)
    _check_level(device, "device name")
    return MqttSetting(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        device=device,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def fixes_topic(org_slug: str, device: str, prefix: str = TOPIC_PREFIX) -> str:
    """``lastmile/{org_slug}/drivers/{device}/locations``: where the device's fixes go."""
    if not org_slug or not device:
        raise MqttSettingError("The topic needs the organisation and the device.")
    _check_level(org_slug, "organisation")
    _check_level(device, "device name")
    return f"{prefix}/{org_slug}/drivers/{device}/locations"


@dataclass(slots=True)
class MqttBackoff:
    """When to try MQTT again after it failed: ``first_s`` after the first failure, doubling
    up to ``max_s``; a success starts over. Times are seconds of any steady clock."""

    first_s: float = 30.0
    max_s: float = 300.0
    failures: int = 0
    retry_at: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.first_s <= self.max_s:
            raise ValueError("back-off: 0 <= first_s <= max_s")

    def use_mqtt(self, now: float) -> bool:
        """Whether this batch should try MQTT (never failed, or the back-off is over)."""
        return self.retry_at is None or now >= self.retry_at

    def delay_s(self, failures: int) -> float:
        """The pause after ``failures`` failures in a row."""
        return min(self.max_s, self.first_s * 2.0 ** max(0, failures - 1))

    def failed(self, now: float) -> float:
        """MQTT failed at ``now``: the seconds until it is tried again."""
        self.failures += 1
        delay = self.delay_s(self.failures)
        self.retry_at = now + delay
        return delay

    def succeeded(self) -> None:
        self.failures, self.retry_at = 0, None


class Transport(StrEnum):
    MQTT = "mqtt"
    HTTP = "http"


def transport_summary(
    transport: Transport | None,
    reason: str | None,
    mqtt_again_at: datetime | None,
    tz: tzinfo,
) -> str:
    """What the strip says about the way positions leave, when MQTT is set up.

    ``transport`` is the one the last batch used (None: none sent yet), ``reason`` why the
    last batch went over HTTP, ``mqtt_again_at`` when MQTT is tried again."""
    if transport is not Transport.HTTP:
        return "Position over MQTT."
    text = f"{reason or 'MQTT unavailable'}: position over HTTP."
    if mqtt_again_at is not None:
        text += f" MQTT again after {mqtt_again_at.astimezone(tz):%H:%M:%S}."
    return text


def batch_payload(fixes: Sequence[FixIn]) -> bytes:
    """The MQTT payload of a batch: the HTTP batch body's fixes, as a JSON array."""
    return json.dumps(
        [fix.model_dump(mode="json", exclude_none=True) for fix in fixes], separators=(",", ":")
    ).encode()
