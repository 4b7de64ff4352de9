"""``LASTMILE_MQTT_URL`` read into what the client needs (pure).

``mqtt://user:password@host:1883`` (``mqtts://`` for TLS, default ports 1883 and 8883).
The user name and password are percent-decoded.
"""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    def __repr__(self) -> str:  # never print the password
        user = f"{self.username}@" if self.username else ""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"BrokerAddress({scheme}://{user}{self.host}:{self.port})"


def parse_broker_url(url: str) -> BrokerAddress:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"MQTT URL: scheme {parts.scheme!r}; use mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError("MQTT URL: no host")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ValueError(f"MQTT URL: {exc}") from None
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )
