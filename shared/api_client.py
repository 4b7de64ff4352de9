"""Typed async client for the Lastmile REST API, used by both Flet apps.

Exceptions::

    ApiError            any non-2xx answer; carries status, code, message, details
    └── AuthError       401: not signed in, bad credentials, expired session

Transport failures (no network) surface as ``httpx.TransportError``; the driver app's
offline queue relies on telling the two apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import TypeAdapter

from shared.enums import (
    DriverEventKind,
    DriverStatus,
    OrderStatus,
    WebhookDeliveryStatus,
    ZoneKind,
)
from shared.schemas.auth import Me, TokenPair
from shared.schemas.common import Page
from shared.schemas.exceptions import ExceptionCount, ExceptionItem, ResolutionOut
from shared.schemas.fleet import (
    DepotOut,
    DriverEventOut,
    DriverOut,
    RouteOut,
    RouteUpdate,
    VehicleOut,
)
from shared.schemas.geocode import GeocodeResult
from shared.schemas.health import Health
from shared.schemas.kpis import KpiDriverReport, KpiReport, KpiWindowReport
from shared.schemas.locations import FixIn, IngestResponse, PositionOut
from shared.schemas.optimization import (
    ChangeCreate,
    ChangeOut,
    OptimizationComparison,
    OptimizationCreate,
    OptimizationOut,
    OptimizationPublished,
)
from shared.schemas.orders import (
    OrderCreate,
    OrderEventOut,
    OrderOut,
    OrderUpdate,
    TrackingLinkOut,
    TransitionRequest,
)
from shared.schemas.pod import FailureOut, ProofOut, ScanOut
from shared.schemas.routing import RouteOut as RoadRoute
from shared.schemas.tracking import MapSettings, TrackingView
from shared.schemas.webhooks import (
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryOut,
    WebhookOut,
    WebhookUpdate,
)
from shared.schemas.zones import ZoneCreate, ZoneOut, ZoneUpdate

API = "/api/v1"

# (form field, (file name, bytes, content type)): what httpx sends as a multipart file.
_Upload = tuple[str, tuple[str, bytes, str]]


class ApiError(Exception):
    """The server answered with an error body ``{"error": {code, message, details}}``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class AuthError(ApiError):
    """401: the credentials or the session are not (or no longer) valid."""


def _raise_for_error(response: httpx.Response) -> None:
    if response.is_success:
        return
    code, message, details = "http_error", response.reason_phrase, None
    try:
        body = response.json()
        err = body["error"]
        code, message, details = err["code"], err["message"], err.get("details")
    except (ValueError, KeyError, TypeError):
        pass
    cls = AuthError if response.status_code == 401 else ApiError
    raise cls(response.status_code, code, message, details)


@dataclass(frozen=True, slots=True)
class CreatedOrders:
    """A batch's orders, and whether they were created by an earlier request."""

    orders: list[OrderOut]
    replayed: bool  # the answer to an earlier request with the same Idempotency-Key


class ApiClient:
    """One signed-in session against a Lastmile server.

    ``transport`` lets tests plug in ``httpx.MockTransport`` or an ASGI transport.
    ``client_address`` is the address of the person this client acts for, when that is not
    this process (a web app's server calling for a browser): it goes as ``X-Forwarded-For``,
    which the server believes only from an address it trusts (``FORWARDED_ALLOW_IPS``), so
    that per-address limits (failed sign-ins) count each browser, not the web app.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 15.0,
        client_address: str | None = None,
    ) -> None:
        self.client_address = client_address
        headers = {"X-Forwarded-For": client_address} if client_address else None
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout_s, headers=headers
        )
        self.tokens: TokenPair | None = None
        # Called with every new pair (sign-in, refresh): an app keeps the refresh token.
        self.on_tokens: Callable[[TokenPair], None] | None = None

    def _took(self, tokens: TokenPair) -> TokenPair:
        self.tokens = tokens
        if self.on_tokens is not None:
            self.on_tokens(tokens)
        return tokens

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    # --- plumbing -------------------------------------------------------------------
    def _auth_headers(self) -> dict[str, str]:
        if self.tokens is None:
            return {}
        return {"Authorization": f"Bearer {self.tokens.access_token}"}

    async def _request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        extra = headers or {}
        response = await self._http.request(
            method, path, headers={**self._auth_headers(), **extra}, **kwargs
        )
        if response.status_code == 401 and self.tokens is not None:
            # The access token may have expired: refresh once and retry.
            try:
                await self.refresh()
            except AuthError:
                self.tokens = None
                raise
            response = await self._http.request(
                method, path, headers={**self._auth_headers(), **extra}, **kwargs
            )
        _raise_for_error(response)
        return response

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return (await self._request("GET", path, params=clean)).json()

    async def _post(self, path: str, body: Any = None) -> Any:
        return (await self._request("POST", path, json=body)).json()

    # --- auth -----------------------------------------------------------------------
    async def login(self, username: str, password: str) -> TokenPair:
        """Sign in with email and password (OAuth2 password flow)."""
        response = await self._http.post(
            f"{API}/auth/token", data={"username": username, "password": password}
        )
        _raise_for_error(response)
        return self._took(TokenPair.model_validate(response.json()))

    async def refresh(self) -> TokenPair:
        """Swap the refresh token for a new pair."""
        if self.tokens is None:
            raise AuthError(401, "not_authenticated", "sign in first")
        response = await self._http.post(
            f"{API}/auth/refresh", json={"refresh_token": self.tokens.refresh_token}
        )
        _raise_for_error(response)
        return self._took(TokenPair.model_validate(response.json()))

    async def me(self) -> Me:
        return Me.model_validate(await self._get(f"{API}/auth/me"))

    async def health(self) -> Health:
        return Health.model_validate((await self._http.get("/health")).json())

    # --- orders ---------------------------------------------------------------------
    async def list_orders(
        self,
        *,
        status: list[OrderStatus] | None = None,
        driver_id: int | None = None,
        unassigned: bool | None = None,
        zone_id: int | None = None,
        route_id: int | None = None,
        window_from: datetime | None = None,
        window_to: datetime | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
        sort: str | None = None,
    ) -> Page[OrderOut]:
        data = await self._get(
            f"{API}/orders",
            {
                "status": [s.value for s in status] if status else None,
                "driver_id": driver_id,
                "unassigned": None if unassigned is None else str(unassigned).lower(),
                "zone_id": zone_id,
                "route_id": route_id,
                "window_from": window_from.isoformat() if window_from else None,
                "window_to": window_to.isoformat() if window_to else None,
                "q": q,
                "limit": limit,
                "offset": offset,
                "sort": sort,
            },
        )
        return Page[OrderOut].model_validate(data)

    async def get_order(self, order_id: int) -> OrderOut:
        return OrderOut.model_validate(await self._get(f"{API}/orders/{order_id}"))

    async def create_order(self, order: OrderCreate) -> OrderOut:
        body = order.model_dump(mode="json", exclude_unset=True)
        return OrderOut.model_validate(await self._post(f"{API}/orders", body))

    async def create_orders(self, orders: list[OrderCreate]) -> list[OrderOut]:
        """Up to 1000 orders at once: all of them, or none (an ApiError says why)."""
        body = {"orders": [o.model_dump(mode="json", exclude_unset=True) for o in orders]}
        data = await self._post(f"{API}/orders/batch", body)
        return TypeAdapter(list[OrderOut]).validate_python(data)

    async def create_orders_once(
        self, orders: list[OrderCreate], idempotency_key: str
    ) -> CreatedOrders:
        """:meth:`create_orders` with an ``Idempotency-Key``: sent again with the same key
        and orders (a retry, a re-run after a crash) it answers the first orders again and
        creates none (``replayed``)."""
        body = {"orders": [o.model_dump(mode="json", exclude_unset=True) for o in orders]}
        response = await self._request(
            "POST", f"{API}/orders/batch", json=body, headers={"Idempotency-Key": idempotency_key}
        )
        return CreatedOrders(
            orders=TypeAdapter(list[OrderOut]).validate_python(response.json()),
            replayed=response.headers.get("Idempotent-Replayed") == "true",
        )

    async def geocode(self, query: str) -> list[GeocodeResult]:
        """Candidate places for an address (409 ``no_geocoder`` when none is configured)."""
        data = await self._get(f"{API}/geocode", {"q": query})
        return TypeAdapter(list[GeocodeResult]).validate_python(data)

    async def transition(self, order_id: int, request: TransitionRequest) -> OrderOut:
        body = request.model_dump(mode="json", exclude_none=True)
        return OrderOut.model_validate(
            await self._post(f"{API}/orders/{order_id}/transitions", body)
        )

    async def order_events(self, order_id: int) -> list[OrderEventOut]:
        data = await self._get(f"{API}/orders/{order_id}/events")
        return TypeAdapter(list[OrderEventOut]).validate_python(data)

    async def create_tracking_link(self, order_id: int) -> TrackingLinkOut:
        return TrackingLinkOut.model_validate(
            await self._post(f"{API}/orders/{order_id}/tracking-links", {})
        )

    # --- the driver's writes (replayed by the app's offline queue) ---------------------
    async def record_pod(
        self,
        order_id: int,
        client_id: str,
        *,
        photos: list[bytes] | None = None,
        signature_png: bytes | None = None,
        signature: str | None = None,
        recipient_name: str | None = None,
        barcodes: list[str] | None = None,
        pin: str | None = None,
        age_checked: bool = False,
        notes: str = "",
        lat: float | None = None,
        lng: float | None = None,
    ) -> ProofOut:
        """Deliver the order with its proof. ``client_id`` is made once per proof: sending
        it again (a lost answer) gets the first answer back with ``replayed`` set."""
        form = _form(
            client_id=client_id,
            recipient_name=recipient_name,
            signature=signature,
            barcodes=barcodes,
            pin=pin,
            age_checked="true" if age_checked else None,
            notes=notes or None,
            lat=lat,
            lng=lng,
        )
        files = _uploads("photos", photos or [])
        if signature_png is not None:
            files += _uploads("signature_png", [signature_png])
        response = await self._request(
            "POST", f"{API}/orders/{order_id}/pod", data=form, files=files or None
        )
        return ProofOut.model_validate(response.json())

    async def report_failure(
        self,
        order_id: int,
        client_id: str,
        *,
        reason: str,
        note: str = "",
        photos: list[bytes] | None = None,
        lat: float | None = None,
        lng: float | None = None,
    ) -> FailureOut:
        """The delivery could not be made (``reason``: ``not_home``, ``refused``...); the
        server carries out the reason's follow-up. Idempotent through ``client_id``."""
        form = _form(client_id=client_id, reason=reason, note=note or None, lat=lat, lng=lng)
        files = _uploads("photos", photos or [])
        response = await self._request(
            "POST", f"{API}/orders/{order_id}/failure", data=form, files=files or None
        )
        return FailureOut.model_validate(response.json())

    async def scan_parcels(
        self, order_id: int, *, codes: list[str] | None = None, image: bytes | None = None
    ) -> ScanOut:
        """Check scanned parcels against the order: codes the app read, or a label photo
        the server reads. Only checks: sending it twice changes nothing."""
        files = _uploads("image", [image]) if image is not None else []
        response = await self._request(
            "POST",
            f"{API}/orders/{order_id}/scans",
            data=_form(codes=codes),
            files=files or None,
        )
        return ScanOut.model_validate(response.json())

    async def send_fixes(self, fixes: list[FixIn]) -> IngestResponse:
        """A batch of the driver's own fixes (at most 500). A fix sent again is answered
        as a rejected ``duplicate``: a batch whose answer was lost may simply be resent."""
        body = {"fixes": [fix.model_dump(mode="json", exclude_none=True) for fix in fixes]}
        return IngestResponse.model_validate(await self._post(f"{API}/drivers/me/locations", body))

    # --- fleet ----------------------------------------------------------------------
    async def list_drivers(self, *, limit: int = 100, offset: int = 0) -> Page[DriverOut]:
        data = await self._get(f"{API}/drivers", {"limit": limit, "offset": offset})
        return Page[DriverOut].model_validate(data)

    async def my_driver(self) -> DriverOut:
        return DriverOut.model_validate(await self._get(f"{API}/drivers/me"))

    async def set_my_status(self, status: DriverStatus) -> DriverOut:
        response = await self._request(
            "PUT", f"{API}/drivers/me/status", json={"status": status.value}
        )
        return DriverOut.model_validate(response.json())

    async def driver_events(
        self,
        driver_id: int,
        *,
        kind: list[DriverEventKind] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[DriverEventOut]:
        """A driver's events (zones entered and left...), newest first."""
        data = await self._get(
            f"{API}/drivers/{driver_id}/events",
            {
                "kind": [k.value for k in kind] if kind else None,
                "limit": limit,
                "offset": offset,
            },
        )
        return Page[DriverEventOut].model_validate(data)

    async def list_vehicles(self, *, limit: int = 100, offset: int = 0) -> Page[VehicleOut]:
        data = await self._get(f"{API}/vehicles", {"limit": limit, "offset": offset})
        return Page[VehicleOut].model_validate(data)

    async def list_routes(
        self,
        *,
        service_date: date | None = None,
        driver_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page[RouteOut]:
        data = await self._get(
            f"{API}/routes",
            {
                "service_date": service_date.isoformat() if service_date else None,
                "driver_id": driver_id,
                "limit": limit,
                "offset": offset,
            },
        )
        return Page[RouteOut].model_validate(data)

    async def update_route(self, route_id: int, update: RouteUpdate) -> RouteOut:
        response = await self._request(
            "PATCH",
            f"{API}/routes/{route_id}",
            json=update.model_dump(mode="json", exclude_unset=True),
        )
        return RouteOut.model_validate(response.json())

    # --- depots (the live map) -----------------------------------------------------
    async def fleet_positions(self) -> list[PositionOut]:
        """Every driver's current position in the organisation (staff only)."""
        data = await self._get(f"{API}/fleet/positions")
        return TypeAdapter(list[PositionOut]).validate_python(data)

    async def list_depots(self, *, limit: int = 100, offset: int = 0) -> Page[DepotOut]:
        data = await self._get(f"{API}/depots", {"limit": limit, "offset": offset})
        return Page[DepotOut].model_validate(data)

    # --- exceptions inbox and KPIs (dispatcher) ---------------------------------------
    async def exceptions(
        self, *, limit: int = 100, include_resolved: bool = False
    ) -> list[ExceptionItem]:
        """The dispatcher's exception inbox, newest first (``GET /exceptions``); items
        marked resolved only with ``include_resolved``."""
        data = await self._get(
            f"{API}/exceptions",
            {"limit": limit, "include_resolved": "true" if include_resolved else None},
        )
        return TypeAdapter(list[ExceptionItem]).validate_python(data)

    async def exception_count(self) -> ExceptionCount:
        """How many items of the inbox are open, in total and by kind."""
        return ExceptionCount.model_validate(await self._get(f"{API}/exceptions/count"))

    async def resolve_exception(self, key: str, note: str = "") -> ResolutionOut:
        """Mark the inbox item ``key`` resolved (its first resolution if it already was)."""
        data = await self._post(f"{API}/exceptions/{key}/resolve", {"note": note})
        return ResolutionOut.model_validate(data)

    async def update_order(self, order_id: int, update: OrderUpdate) -> OrderOut:
        """Change an order's fields or stops (``PATCH /orders/{id}``; a stop as a whole)."""
        response = await self._request(
            "PATCH",
            f"{API}/orders/{order_id}",
            json=update.model_dump(mode="json", exclude_unset=True),
        )
        return OrderOut.model_validate(response.json())

    async def kpis(self, date_from: date, date_to: date, tz: str = "UTC") -> KpiReport:
        """Delivery KPIs per day from ``date_from`` to ``date_to`` (local days in ``tz``)."""
        params = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "tz": tz}
        return KpiReport.model_validate(await self._get(f"{API}/kpis", params))

    async def kpi_drivers(self, date_from: date, date_to: date, tz: str = "UTC") -> KpiDriverReport:
        """Per driver: stops per local day, route time planned vs actual (at most 366 days)."""
        params = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "tz": tz}
        return KpiDriverReport.model_validate(await self._get(f"{API}/kpis/drivers", params))

    async def kpi_windows(self, date_from: date, date_to: date, tz: str = "UTC") -> KpiWindowReport:
        """SLA adherence per drop-off window slot (local times of day in ``tz``)."""
        params = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "tz": tz}
        return KpiWindowReport.model_validate(await self._get(f"{API}/kpis/windows", params))

    # --- zones ----------------------------------------------------------------------
    async def list_zones(
        self,
        *,
        kind: ZoneKind | None = None,
        active: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page[ZoneOut]:
        data = await self._get(
            f"{API}/zones",
            {
                "kind": kind.value if kind else None,
                "active": active,
                "limit": limit,
                "offset": offset,
            },
        )
        return Page[ZoneOut].model_validate(data)

    async def create_zone(self, zone: ZoneCreate) -> ZoneOut:
        """Draw a zone or corridor (admins); the geometry is checked before sending."""
        return ZoneOut.model_validate(
            await self._post(f"{API}/zones", zone.model_dump(mode="json"))
        )

    async def update_zone(self, zone_id: int, update: ZoneUpdate) -> ZoneOut:
        response = await self._request(
            "PATCH",
            f"{API}/zones/{zone_id}",
            json=update.model_dump(mode="json", exclude_unset=True),
        )
        return ZoneOut.model_validate(response.json())

    async def delete_zone(self, zone_id: int) -> None:
        await self._request("DELETE", f"{API}/zones/{zone_id}")

    # --- webhooks ---------------------------------------------------------------------
    async def create_webhook(self, webhook: WebhookCreate) -> WebhookCreated:
        """Register an endpoint; the answer's ``secret`` is shown this once."""
        return WebhookCreated.model_validate(
            await self._post(f"{API}/webhooks", webhook.model_dump(mode="json"))
        )

    async def list_webhooks(self) -> list[WebhookOut]:
        return [WebhookOut.model_validate(w) for w in await self._get(f"{API}/webhooks")]

    async def update_webhook(self, webhook_id: int, update: WebhookUpdate) -> WebhookOut:
        response = await self._request(
            "PATCH",
            f"{API}/webhooks/{webhook_id}",
            json=update.model_dump(mode="json", exclude_unset=True),
        )
        return WebhookOut.model_validate(response.json())

    async def delete_webhook(self, webhook_id: int) -> None:
        await self._request("DELETE", f"{API}/webhooks/{webhook_id}")

    async def webhook_deliveries(
        self,
        webhook_id: int,
        *,
        status: WebhookDeliveryStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[WebhookDeliveryOut]:
        """The endpoint's deliveries, newest first, each with its attempts."""
        params = {"status": status.value if status else None, "limit": limit, "offset": offset}
        data = await self._get(f"{API}/webhooks/{webhook_id}/deliveries", params)
        return Page[WebhookDeliveryOut].model_validate(data)

    async def test_webhook(self, webhook_id: int) -> WebhookDeliveryOut:
        """Queue a sample ``ping`` for the endpoint; follow it in its deliveries."""
        return WebhookDeliveryOut.model_validate(
            await self._post(f"{API}/webhooks/{webhook_id}/test")
        )

    async def retry_webhook_delivery(self, delivery_id: int) -> WebhookDeliveryOut:
        return WebhookDeliveryOut.model_validate(
            await self._post(f"{API}/webhooks/deliveries/{delivery_id}/retry")
        )

    # --- planning ---------------------------------------------------------------------
    async def start_optimization(self, request: OptimizationCreate) -> OptimizationOut:
        """Start planning a day; poll :meth:`get_optimization` for progress."""
        body = request.model_dump(mode="json", exclude_unset=True)
        return OptimizationOut.model_validate(await self._post(f"{API}/optimizations", body))

    async def get_optimization(self, job_id: str) -> OptimizationOut:
        return OptimizationOut.model_validate(await self._get(f"{API}/optimizations/{job_id}"))

    async def cancel_optimization(self, job_id: str) -> OptimizationOut:
        data = await self._post(f"{API}/optimizations/{job_id}/cancel")
        return OptimizationOut.model_validate(data)

    async def optimization_comparison(self, job_id: str) -> OptimizationComparison:
        """The day's current plan against the day once the plan is published."""
        data = await self._get(f"{API}/optimizations/{job_id}/comparison")
        return OptimizationComparison.model_validate(data)

    async def publish_optimization(self, job_id: str) -> OptimizationPublished:
        """Publish a finished plan's draft routes, all at once."""
        data = await self._post(f"{API}/optimizations/{job_id}/publish")
        return OptimizationPublished.model_validate(data)

    async def change_routes(self, change: ChangeCreate) -> ChangeOut:
        """Preview a change to the day's routes (or apply it, with ``apply``)."""
        body = change.model_dump(mode="json", exclude_unset=True)
        return ChangeOut.model_validate(await self._post(f"{API}/dispatch/changes", body))

    # --- customers ------------------------------------------------------------------
    async def map_settings(self) -> MapSettings:
        """Where maps get their tiles, and the attribution to show under them."""
        return MapSettings.model_validate(await self._get(f"{API}/map"))

    async def road_route(self, waypoints: list[tuple[float, float]]) -> RoadRoute:
        """The path along the roads through ``waypoints`` (lat, lng), in order."""
        body = {"waypoints": [{"lat": lat, "lng": lng} for lat, lng in waypoints]}
        return RoadRoute.model_validate(await self._post(f"{API}/routing/route", body))

    async def track(self, token: str) -> TrackingView:
        """The public view of one order through its tracking token (no sign-in)."""
        response = await self._http.get(f"{API}/track/{token}")
        _raise_for_error(response)
        return TrackingView.model_validate(response.json())


def _form(**fields: str | float | list[str] | None) -> dict[str, str | list[str]]:
    """Multipart form fields; None is left out, a list repeats its field."""
    form: dict[str, str | list[str]] = {}
    for name, value in fields.items():
        if value is None:
            continue
        form[name] = value if isinstance(value, list | str) else str(value)
    return form


def _uploads(field: str, contents: list[bytes]) -> list[_Upload]:
    uploads: list[_Upload] = []
    for i, data in enumerate(contents, start=1):
        content_type, suffix = _image_kind(data)
        uploads.append((field, (f"{field}-{i}{suffix}", data, content_type)))
    return uploads


def _image_kind(data: bytes) -> tuple[str, str]:
    """Content type and file suffix of an image (the server checks the bytes itself)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", ".jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", ".png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return "application/octet-stream", ""
