"""Creating one order: the form, address look-up (or a pin on the map), then the server."""

from collections.abc import Awaitable, Callable
from datetime import tzinfo

import httpx

from app_kit.errors import failure_message
from app_kit.observable import Observable
from dispatcher_app.logic.order_form import form_order, format_coordinate
from shared.api_client import ApiClient, ApiError
from shared.order_import import OrderField
from shared.schemas.geocode import GeocodeResult
from shared.schemas.orders import OrderOut

NO_GEOCODER = (
    "No geocoder is configured on the server: enter the latitude and longitude, or click "
    "the map to pin the address."
)


class CreateOrderState(Observable):
    """The "new order" dialog: its field values, the address candidates, what went wrong.
    ``on_created`` runs after the server stored the order (the grid reloads)."""

    def __init__(
        self,
        client: ApiClient,
        *,
        on_expired: Callable[[], None],
        on_created: Callable[[], Awaitable[None]],
        tz: tzinfo,
    ) -> None:
        super().__init__()
        self._client = client
        self._on_expired = on_expired
        self._on_created = on_created
        self.tz = tz
        self.clear()

    def clear(self) -> None:
        self.is_open = False
        self.values: dict[OrderField, str] = {}
        self.field_errors: dict[OrderField, str] = {}
        self.candidates: list[GeocodeResult] = []
        self.busy = False
        self.error: str | None = None  # the server's refusal or the look-up's, in words
        self.notice: str | None = None  # e.g. no geocoder: pin on the map
        self.created: OrderOut | None = None
        self.notify()

    def open(self) -> None:
        self.clear()
        self.is_open = True
        self.notify()

    def close(self) -> None:
        self.clear()

    def set_value(self, key: OrderField, value: str) -> None:
        """A keystroke: kept without a re-render (the field shows it already)."""
        self.values[key] = value
        self.field_errors.pop(key, None)

    def pin(self, lat: float, lng: float) -> None:
        """The address is where the dispatcher clicked (WGS84 degrees)."""
        self.values[OrderField.LAT] = format_coordinate(lat)
        self.values[OrderField.LNG] = format_coordinate(lng)
        for key in (OrderField.LAT, OrderField.LNG):
            self.field_errors.pop(key, None)
        self.notify()

    def choose(self, candidate: GeocodeResult) -> None:
        """Take a geocoder's candidate: its address and its position."""
        self.values[OrderField.ADDRESS] = candidate.address
        self.candidates = []
        self.pin(candidate.lat, candidate.lon)

    async def find_address(self) -> None:
        """Ask the server's geocoder for the typed address: one candidate is taken, several
        are listed to choose from."""
        query = self.values.get(OrderField.ADDRESS, "").strip()
        if len(query) < 3:
            self.field_errors[OrderField.ADDRESS] = "type at least three characters"
            self.notify()
            return
        self.busy, self.error, self.notice, self.candidates = True, None, None, []
        self.notify()
        try:
            found = await self._client.geocode(query)
        except ApiError as exc:
            self.busy = False
            if exc.code == "no_geocoder":
                self.notice = NO_GEOCODER
            else:
                self.error = failure_message(exc, self._client.base_url, self._on_expired)
            self.notify()
            return
        except httpx.TransportError as exc:
            self.busy = False
            self.error = failure_message(exc, self._client.base_url, self._on_expired)
            self.notify()
            return
        self.busy = False
        if not found:
            self.notice = "Nothing found for that address: check it, or click the map to pin it."
        elif len(found) == 1:
            self.choose(found[0])
            return
        else:
            self.candidates = found
        self.notify()

    async def submit(self) -> bool:
        """Check the form, then create the order. True once the server stored it."""
        order = form_order(self.values, self.tz)
        if isinstance(order, dict):
            self.field_errors = order
            self.error = "Fix the fields marked in red."
            self.notify()
            return False
        self.busy, self.error, self.field_errors = True, None, {}
        self.notify()
        try:
            created = await self._client.create_order(order)
        except (ApiError, httpx.TransportError) as exc:
            self.busy = False
            self.error = failure_message(exc, self._client.base_url, self._on_expired)
            self.notify()
            return False
        self.clear()
        self.created = created
        self.notify()
        await self._on_created()
        return True
