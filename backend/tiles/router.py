"""``GET /tiles/{z}/{x}/{y}.png``: public map tiles, outside ``/api/v1`` and the OpenAPI."""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response

from backend.config import Settings
from backend.errors import NotFoundError
from backend.tiles.service import TileService

CACHE_CONTROL = "public, max-age=86400"
"""A day: tiles change only on a re-import, and the ETag revalidates them after that."""

# Not in the OpenAPI document: tiles are an asset for map clients, not part of the API
# (and tests/backend/test_role_table.py wants a role row for every documented path).
router = APIRouter(include_in_schema=False)


def get_tile_service(request: Request) -> TileService:
    service: TileService = request.app.state.tile_service
    return service


TileServiceDep = Annotated[TileService, Depends(get_tile_service)]


def _parse(z: str, x: str, y: str) -> tuple[int, int, int]:
    try:
        return int(z), int(x), int(y)
    except ValueError:
        raise NotFoundError(f"no tile {z}/{x}/{y}: z, x and y are integers") from None


@router.get("/tiles/{z}/{x}/{y}.png")
async def get_tile(z: str, x: str, y: str, request: Request, tiles: TileServiceDep) -> Response:
    """One 256x256 PNG map tile of the configured region (© OpenStreetMap contributors).

    404 for numbers that name no tile, 503 when the region was never imported; 304 when the
    client's ``If-None-Match`` still matches.
    """
    zi, xi, yi = _parse(z, x, y)
    etag = await tiles.etag(zi, xi, yi)
    # Public images any page may draw: the Flet apps' map (another origin) paints them on
    # a canvas, which a browser only allows for an image served with this header.
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag, "Access-Control-Allow-Origin": "*"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    tile = await tiles.tile(zi, xi, yi)
    headers["X-Tile-Cache"] = "hit" if tile.cached else "miss"
    return Response(tile.png, media_type="image/png", headers=headers)


def mount(app: FastAPI, settings: Settings) -> None:
    """Serve the configured region's tiles from ``app`` (the index loads on first use)."""
    app.state.tile_service = TileService.from_settings(settings)
    app.include_router(router)
