"""Where a webhook may point: against server-side request forgery.

A webhook URL is the organisation's to choose, and the backend POSTs to it: without a
check, anyone who may register one could make the server reach its own admin ports, the
cloud's metadata service (169.254.169.254) or the office network. So a URL must be
``http``/``https`` and every address its host resolves to must be public: loopback,
private, link-local, multicast, reserved, unspecified and other non-global addresses are
refused, at registration and again at every send (DNS may have changed meanwhile). The
send then goes to the very address that was checked (see :class:`Target`), so a name
that resolves differently a moment later cannot slip through. An admin setting
(``LASTMILE_WEBHOOK_ALLOW_PRIVATE``) lifts all of this for private deployments and tests.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = frozenset({"http", "https"})


class UnsafeUrlError(ValueError):
    """The URL is not http(s), has no host, does not resolve, or reaches an address that
    is not public; the message says which."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: ``address`` is what its host resolved to and was found public (None
    when private addresses are allowed: the HTTP client resolves as usual)."""

    url: str
    host: str
    address: str | None


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` may not be reached, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for flag, label in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    ):
        if getattr(address, flag):
            return f"{address} is a {label} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def split_url(url: str) -> tuple[str, int]:
    """``(host, port)`` of an http(s) URL; :class:`UnsafeUrlError` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise UnsafeUrlError(f"only http and https URLs are allowed, not {parts.scheme!r}")
    if not parts.hostname:
        raise UnsafeUrlError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrlError("credentials in the URL are not allowed; use the signature")
    default = 443 if parts.scheme.lower() == "https" else 80
    return parts.hostname, port or default


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (the resolver is blocking: run in a thread)."""
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrlError(f"the host {host!r} does not resolve ({exc})") from None
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise UnsafeUrlError(f"the host {host!r} does not resolve")
    return found


async def check_url(url: str, *, allow_private: bool) -> Target:
    """``url`` as a :class:`Target`, or :class:`UnsafeUrlError` saying why not."""
    host, port = split_url(url)
    if allow_private:
        return Target(url, host, None)
    addresses = await resolve(host, port)
    for address in addresses:
        refusal = address_refusal(address)
        if refusal is not None:
            raise UnsafeUrlError(
                f"{host} resolves to {refusal}; webhooks may only reach public addresses "
                "(an admin can allow private ones: LASTMILE_WEBHOOK_ALLOW_PRIVATE)"
            )
    return Target(url, host, str(addresses[0]))
