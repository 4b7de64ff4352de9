"""The live map: drivers, today's routes and their stops, depots and zones, kept current by
the fleet socket (``/api/v1/fleet/ws?token=<access token>``).

``load()`` reads everything over HTTP and (re)starts the socket. The socket's ``positions``
frames go into a :class:`Coalescer`; a ticker applies what is pending every ``tick_s``
(0.3 s) and notifies once, so 500 moving drivers cost ~3 renders a second, not one per
frame. ``order_event`` frames carry the new status: the stop's colour changes at the next
tick without a request; an order the map does not know yet (a new assignment), and
``driver_event`` frames (a status may have changed), ask for a reload of the routes or the
drivers, at most once every ``reload_every_s``. ``eta`` frames move the stop's ETA.

Close ``4401`` (token expired): refresh the token, reconnect; a refused refresh ends the
session (``on_expired``). ``4403``: stop. Anything else: reconnect after a pause doubling
from 0.5 s to 30 s, with jitter, reset after a socket that got as far as ``hello``.
"""

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

import httpx

from app_kit.clock import utc_now
from app_kit.live_socket import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHORIZED,
    Connect,
    SocketClosedError,
    refreshed,
    socket_url,
    websocket,
)
from app_kit.loading import ServerState, all_pages
from dispatcher_app.logic.fleet_map import (
    Coalescer,
    LatLng,
    Position,
    merge,
    parse_positions,
    route_stops,
)
from dispatcher_app.state.drivers import PAGE, all_drivers
from shared.api_client import ApiClient, ApiError, AuthError
from shared.enums import OrderStatus, RouteStatus
from shared.schemas.common import Page
from shared.schemas.fleet import DepotOut, DriverOut, RouteOut
from shared.schemas.orders import OrderOut, StopOut
from shared.schemas.tracking import MapSettings
from shared.schemas.zones import ZoneOut

# Our own generator: the module-wide one is shared with everything else in the
# process (Hypothesis checks that nobody draws from it while it generates data).
_JITTER = random.Random()

log = logging.getLogger(__name__)

PATH = "/api/v1/fleet/ws"
DEFAULT_TILES = "/tiles/{z}/{x}/{y}.png"
DEFAULT_ATTRIBUTION = "© OpenStreetMap contributors"


def tile_template(tile_url: str, api_base_url: str) -> str:
    """The tile URL as the map fetches it: absolute, or relative to the API server."""
    if "://" in tile_url:
        return tile_url
    base = api_base_url.rstrip("/")
    if tile_url.startswith("//"):
        return f"{base.split('://', 1)[0]}:{tile_url}"
    return f"{base}/{tile_url.lstrip('/')}"


class FleetMapState(ServerState):
    """Everything the live map draws, and the selected driver's card.

    ``positions`` (driver id → latest fix), ``drivers`` (by id), ``routes`` (today's, by
    driver id), ``order_status`` (order id → status), ``depots``, ``zones``; ``selected``
    (a driver id) with ``path`` (its route's line) and ``on_roads``; ``selected_stop``;
    ``updates`` (ticks that moved something) and ``updated_at``; ``connected``; ``error``.
    """

    def __init__(
        self,
        client: ApiClient,
        *,
        on_expired: Callable[[], None],
        connect: Connect = websocket,
        tick_s: float = 0.3,
        reload_every_s: float = 5.0,
        today: Callable[[], date] = lambda: utc_now().date(),
        now: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(client, on_expired=on_expired)
        self._connect = connect
        self.tick_s = tick_s
        self._reload_every_s = reload_every_s
        self._today = today
        self.now = now
        self._sleep = sleep
        self._tasks: list[asyncio.Task[None]] = []
        self._path_task: asyncio.Task[None] | None = None
        # Other parts of the app that follow the socket (the exceptions inbox).
        self.frame_listeners: list[Callable[[dict[str, Any]], None]] = []
        self.tile_url = tile_template(DEFAULT_TILES, client.base_url)
        self.attribution = DEFAULT_ATTRIBUTION
        self.clear()

    # --- lifecycle -------------------------------------------------------------------
    def clear(self) -> None:
        """Forget everything and close the socket (signing out)."""
        self._forget_reads()
        for task in [*self._tasks, self._path_task]:
            if task is not None:
                task.cancel()
        self._tasks, self._path_task = [], None
        self.coalescer = Coalescer()
        self.positions: dict[int, Position] = {}
        self.drivers: dict[int, DriverOut] = {}
        self.routes: dict[int, RouteOut] = {}
        self.order_status: dict[int, OrderStatus] = {}
        self.references: dict[int, str | None] = {}
        self.depots: list[DepotOut] = []
        self.zones: list[ZoneOut] = []
        self.selected: int | None = None
        self.selected_stop: StopOut | None = None
        self.path: list[LatLng] = []
        self._asked: list[LatLng] = []
        self.on_roads = False
        self.updates = 0
        self.moved = 0
        self.updated_at: datetime | None = None
        self.connected = False
        self.tiles_failed = False
        self.error = None
        self._want_routes = self._want_drivers = False
        self.notify()

    @property
    def count(self) -> int:
        """Drivers on the map (with a known position)."""
        return len(self.positions)

    async def load(self) -> None:
        """Read the map's data over HTTP and make sure the socket and ticker run."""

        async def fetch() -> tuple[MapSettings, list[DriverOut], Page[DepotOut], Page[ZoneOut]]:
            found = await asyncio.gather(
                self._client.map_settings(),
                all_drivers(self._client),
                self._client.list_depots(limit=PAGE),
                self._client.list_zones(active=True, limit=PAGE),
            )
            await self._load_routes()
            return found

        got = await self._read(fetch)
        if got is None:
            return
        settings, drivers, depots, zones = got.value
        self.tile_url = tile_template(settings.tile_url, self._client.base_url)
        self.attribution = settings.attribution
        self.drivers = {d.id: d for d in drivers}
        self.depots = depots.items
        self.zones = zones.items
        self.notify()
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._run_socket(), name="fleet-socket"),
                asyncio.create_task(self._tick(), name="fleet-map-tick"),
            ]

    async def _load_routes(self) -> None:
        """Today's routes (one per driver: the one not finished, else the last) and the
        status and reference of every order on them."""
        today = self._today()
        routes = await all_pages(
            lambda offset: self._client.list_routes(service_date=today, limit=PAGE, offset=offset)
        )
        by_driver: dict[int, RouteOut] = {}
        for route in sorted(routes, key=lambda r: (r.status is not RouteStatus.COMPLETED, r.id)):
            by_driver[route.driver_id] = route
        limit = asyncio.Semaphore(8)

        async def orders_of(route: RouteOut) -> list[OrderOut]:
            async with limit:
                page = await self._client.list_orders(route_id=route.id, limit=PAGE)
                return page.items

        pages = await asyncio.gather(*(orders_of(r) for r in by_driver.values() if r.stops))
        self.routes = by_driver
        for orders in pages:
            for order in orders:
                self.order_status[order.id] = order.status
                self.references[order.id] = order.reference
        if self.selected is not None:
            self._draw_route()

    def tiles_failed_once(self) -> None:
        """A tile did not load: the caption says the background is plain."""
        if not self.tiles_failed:
            self.tiles_failed = True
            self.notify()

    # --- selection --------------------------------------------------------------------
    def select(self, driver_id: int | None) -> None:
        """Open a driver's card (None closes it) and draw their route."""
        self.selected, self.selected_stop = driver_id, None
        self._draw_route()
        self.notify()

    def select_stop(self, stop: StopOut | None) -> None:
        self.selected_stop = stop
        self.notify()

    @property
    def route(self) -> RouteOut | None:
        return None if self.selected is None else self.routes.get(self.selected)

    def _draw_route(self) -> None:
        route = self.route
        waypoints = [(s.lat, s.lng) for s in route_stops(route.stops)] if route else []
        if waypoints == self._asked:
            return
        self._asked = waypoints
        self.path, self.on_roads = waypoints, False
        if self._path_task is not None:
            self._path_task.cancel()
        if len(waypoints) >= 2:
            self._path_task = asyncio.create_task(self._road_path(waypoints))

    async def _road_path(self, waypoints: list[LatLng]) -> None:
        try:
            road = await self._client.road_route(waypoints)
        except (ApiError, httpx.TransportError):
            log.info("no road path for the route; straight lines instead")
            return
        if self._asked == waypoints:
            self.path = [(p.lat, p.lng) for p in road.geometry]
            self.on_roads = not road.estimated
            self.notify()

    # --- live updates ------------------------------------------------------------------
    def url(self, token: str) -> str:
        return f"{socket_url(self._client.base_url, PATH)}?token={token}"

    def apply_pending(self) -> int:
        """Move what the socket brought onto the map; how many drivers moved."""
        pending = self.coalescer.take()
        if not pending:
            return 0
        self.positions, moved = merge(self.positions, pending)
        if moved:
            self.updates += 1
            self.moved = moved
            self.updated_at = self.now()
        return moved

    async def _tick(self) -> None:
        quiet = 0.0
        loop = asyncio.get_running_loop()
        last_reload = -self._reload_every_s
        reloading: asyncio.Task[None] | None = None
        while True:
            await self._sleep(self.tick_s)
            quiet += self.tick_s
            wanted = self._want_routes or self._want_drivers
            idle = reloading is None or reloading.done()
            if wanted and idle and loop.time() - last_reload >= self._reload_every_s:
                last_reload = loop.time()
                reloading = asyncio.create_task(self._reload_some(), name="fleet-map-reload")
                self._tasks = [t for t in self._tasks if not t.done()] + [reloading]
            # Ages and greying move on even when nobody does: redraw every few seconds.
            if self.apply_pending() or quiet >= 5.0:
                quiet = 0.0
                self.notify()

    async def _reload_some(self) -> None:
        """The routes (and their orders) or the drivers again, after events said so."""
        routes, drivers = self._want_routes, self._want_drivers
        self._want_routes = self._want_drivers = False
        try:
            if routes:
                await self._load_routes()
            if drivers:
                self.drivers = {d.id: d for d in await all_drivers(self._client)}
        except AuthError:
            self._on_expired()
            return
        except (ApiError, httpx.TransportError):
            log.info("reloading the map's routes or drivers failed; the next event retries")
            return
        except RuntimeError:  # the client was closed (the app is stopping)
            return
        self.notify()

    def handle(self, frame: dict[str, Any]) -> None:
        """One frame of the fleet socket; ``frame_listeners`` hear it too."""
        for listener in self.frame_listeners:
            listener(frame)
        kind = frame.get("type")
        if kind == "positions":
            self.coalescer.add(parse_positions(frame))
        elif kind == "order_event":
            order_id, to = frame.get("order_id"), frame.get("to_status")
            if isinstance(order_id, int) and order_id in self.order_status and to in OrderStatus:
                self.order_status[order_id] = OrderStatus(str(to))
                self.updated_at = self.now()
            else:
                self._want_routes = True  # a new order on a route, or a route changed
        elif kind == "eta":
            self._set_eta(frame.get("stop_id"), frame.get("eta"))
        elif kind in ("driver_event", "zone_dwell"):
            self._want_drivers = True

    def _set_eta(self, stop_id: Any, eta: Any) -> None:
        try:
            at = datetime.fromisoformat(str(eta))
        except ValueError:
            return
        for driver_id, route in self.routes.items():
            for i, stop in enumerate(route.stops):
                if stop.id == stop_id:
                    stops = list(route.stops)
                    stops[i] = stop.model_copy(update={"eta_at": at})
                    self.routes[driver_id] = route.model_copy(update={"stops": stops})
                    return

    async def _run_socket(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen()
            except SocketClosedError as closed:
                log.info("fleet socket: %s", closed)
                if closed.code == CLOSE_FORBIDDEN:
                    self._set_connected(False)
                    return
                if closed.code == CLOSE_UNAUTHORIZED and not await refreshed(
                    self._client, self._on_expired
                ):
                    self._set_connected(False)
                    return
                failures = 1 if self.connected else failures + 1
            self._set_connected(False)
            await self._sleep(min(30.0, 0.5 * 2 ** (failures - 1)) * (0.5 + _JITTER.random() / 2))

    async def _listen(self) -> None:
        tokens = self._client.tokens
        if tokens is None:
            raise SocketClosedError(CLOSE_UNAUTHORIZED, "not signed in")
        async with self._connect(self.url(tokens.access_token)) as socket:
            while True:
                try:
                    frame = json.loads(await socket.recv())
                except ValueError:
                    continue
                if not isinstance(frame, dict):
                    continue
                if frame.get("type") == "hello":
                    self._set_connected(True)
                    self._want_routes = True  # what changed while the socket was down
                self.handle(frame)

    def _set_connected(self, connected: bool) -> None:
        if self.connected != connected:
            self.connected = connected
            self.notify()

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        self.clear()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
