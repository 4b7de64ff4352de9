"""The map of the driver's day: the server's tile settings (read once) and the road path
through the stops still to do (straight lines between them when the server cannot route,
or there is no signal)."""

import logging

import httpx

from app_kit.observable import Observable
from driver_app.logic.route_map import LatLng, tile_template
from shared.api_client import ApiClient, ApiError

log = logging.getLogger(__name__)

DEFAULT_TILES = "/tiles/{z}/{x}/{y}.png"
DEFAULT_ATTRIBUTION = "© OpenStreetMap contributors"


class RouteMapState(Observable):
    """``tile_url`` (absolute), ``attribution``, ``path`` (the line to draw) and ``on_roads``
    (False: straight lines, said under the map)."""

    def __init__(self, client: ApiClient) -> None:
        super().__init__()
        self._client = client
        self.tile_url = tile_template(DEFAULT_TILES, client.base_url)
        self.attribution = DEFAULT_ATTRIBUTION
        self._settings_read = False
        self.path: list[LatLng] = []
        self.on_roads = False
        self._asked: list[LatLng] = []

    async def load(self, waypoints: list[LatLng]) -> None:
        """Read the tile settings (once) and the road path through ``waypoints``."""
        if not self._settings_read:
            try:
                settings = await self._client.map_settings()
            except (ApiError, httpx.TransportError):
                log.info("map settings unavailable; using this server's tiles")
            else:
                self.tile_url = tile_template(settings.tile_url, self._client.base_url)
                self.attribution = settings.attribution
                self._settings_read = True
        if waypoints == self._asked and self.path:
            self.notify()
            return
        self._asked = list(waypoints)
        self.path, self.on_roads = list(waypoints), False
        self.notify()
        if len(waypoints) < 2:
            return
        try:
            route = await self._client.road_route(waypoints)
        except (ApiError, httpx.TransportError):
            log.info("no road path for the map; straight lines instead")
            return
        if self._asked == waypoints:
            self.path = [(p.lat, p.lng) for p in route.geometry]
            self.on_roads = not route.estimated  # no road network: straight lines too
            self.notify()
