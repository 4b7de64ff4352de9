"""Typed async client for the Lastmile REST API, used by both Flet apps.

Exceptions::

    ApiError            any non-2xx answer; carries status, code, message, details
    └── AuthError       401: not signed in, bad credentials, expired session

Transport failures (no network) surface as ``httpx.TransportError``; the driver app's
offline queue relies on telling the two apart.
"""

from __future__ import annotations

from datetime import date
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import TypeAdapter

from shared.enums import DriverEventKind, DriverStatus, OrderStatus, ZoneKind
from shared.schemas.auth import Me, TokenPair
from shared.schemas.common import Page
from shared.schemas.fleet import DriverEventOut, DriverOut, RouteOut, RouteUpdate, VehicleOut
from shared.schemas.health import Health
from shared.schemas.optimization import OptimizationCreate, OptimizationOut
from shared.schemas.orders import (
    OrderCreate,
    OrderEventOut,
    OrderOut,
    TrackingLinkOut,
    TransitionRequest,
)
from shared.schemas.tracking import TrackingView
from shared.schemas.zones import ZoneCreate, ZoneOut, ZoneUpdate

API = "/api/v1"


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


class ApiClient:
    """One signed-in session against a Lastmile server.

    ``transport`` lets tests plug in ``httpx.MockTransport`` or an ASGI transport.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout_s
        )
        self.tokens: TokenPair | None = None

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

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._http.request(method, path, headers=self._auth_headers(), **kwargs)
        if response.status_code == 401 and self.tokens is not None:
            # The access token may have expired: refresh once and retry.
            try:
                await self.refresh()
            except AuthError:
                self.tokens = None
                raise
            response = await self._http.request(
                method, path, headers=self._auth_headers(), **kwargs
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
        self.tokens = TokenPair.model_validate(response.json())
        return self.tokens

    async def refresh(self) -> TokenPair:
        """Swap the refresh token for a new pair."""
        if self.tokens is None:
            raise AuthError(401, "not_authenticated", "sign in first")
        response = await self._http.post(
            f"{API}/auth/refresh", json={"refresh_token": self.tokens.refresh_token}
        )
        _raise_for_error(response)
        self.tokens = TokenPair.model_validate(response.json())
        return self.tokens

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
        route_id: int | None = None,
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
                "route_id": route_id,
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

    # --- customers ------------------------------------------------------------------
    async def track(self, token: str) -> TrackingView:
        """The public view of one order through its tracking token (no sign-in)."""
        response = await self._http.get(f"{API}/track/{token}")
        _raise_for_error(response)
        return TrackingView.model_validate(response.json())
