"""One POST of a delivery: signed, to the checked address, with a timeout. The only
module of ``backend.webhooks`` that speaks HTTP."""

import time
from dataclasses import dataclass

import httpx

from backend.webhooks.url_guard import Target, UnsafeUrlError, check_url
from shared.webhook_signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign

USER_AGENT = "Lastmile-Webhooks/1"
ERROR_BODY_CHARS = 200


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt gave: the receiver's status code (None: no answer) or an error."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_headers(
    secret: str, body: bytes, t: int, event_type: str, delivery_id: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(secret, body, t),
        EVENT_HEADER: event_type,
        DELIVERY_HEADER: str(delivery_id),
    }


def _pinned(target: Target) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The request URL, extra headers and extensions that reach ``target.address``
    itself (not whatever the name resolves to a moment later), keeping the host name for
    ``Host`` and for TLS (SNI and the certificate check)."""
    url = httpx.URL(target.url)
    if target.address is None:
        return url, {}, {}
    host_header = url.netloc.decode("ascii")
    return url.copy_with(host=target.address), {"Host": host_header}, {"sni_hostname": target.host}


async def post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    timeout_s: float,
) -> Attempt:
    """POST ``body`` to ``url`` after checking where it leads (again: DNS may have
    changed since registration). Redirects are not followed: a receiver that moved is
    updated by its owner, and a redirect could lead anywhere."""
    started = time.perf_counter()

    def took() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        target = await check_url(url, allow_private=allow_private)
    except UnsafeUrlError as exc:
        return Attempt(None, f"refused: {exc}", took())
    request_url, extra, extensions = _pinned(target)
    try:
        response = await client.post(
            request_url,
            content=body,
            headers={**headers, **extra},
            extensions=extensions,
            timeout=timeout_s,
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        return Attempt(None, f"no answer within {timeout_s:g} s", took())
    except httpx.HTTPError as exc:
        return Attempt(None, f"{type(exc).__name__}: {exc}"[:500], took())
    if 200 <= response.status_code < 300:
        return Attempt(response.status_code, None, took())
    snippet = response.text[:ERROR_BODY_CHARS]
    return Attempt(response.status_code, f"HTTP {response.status_code}: {snippet}", took())
