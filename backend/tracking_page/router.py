"""Serves the customer tracking page: ``/t/{token}``, its own assets under ``/track-assets``
and Leaflet (the PyPI package XStatic-Leaflet, never a CDN) under
``/track-assets/vendor/leaflet``."""

import os
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import Scope
from xstatic.pkg import leaflet  # type: ignore[import-untyped]

from customer_web import STATIC_DIR

LEAFLET_DIR = Path(leaflet.BASE_DIR)
ASSETS_PATH = "/track-assets"
LEAFLET_PATH = f"{ASSETS_PATH}/vendor/leaflet"

# The page names no host but its own for scripts, styles and its API/socket calls. Images
# may come from elsewhere: the organisation's logo and, when configured so, the map tiles.
# Leaflet positions its panes with inline styles, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src * data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # The token is in the page's address: no other host may learn it through a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)


@router.get("/t/{token}")
async def tracking_page(token: str) -> FileResponse:
    """The tracking page. It reads its token from the address and fetches
    ``/api/v1/track/{token}`` itself, so one static file serves every link; an unknown or
    expired token shows the page's own message."""
    return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)


class _Assets(StaticFiles):
    """Static files with a ``Cache-Control`` of their own (the ETag revalidates them)."""

    def __init__(self, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory)
        self.cache_control = cache_control

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = self.cache_control
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def mount(app: FastAPI) -> None:
    # Leaflet first: the page's own mount would otherwise answer its paths with 404s.
    # Compressed (Leaflet is 147 KB as shipped, ~43 KB gzipped); a pinned version changes
    # only with the package, so a day's caching is safe.
    leaflet_files = _Assets(LEAFLET_DIR, "public, max-age=86400")
    app.mount(LEAFLET_PATH, GZipMiddleware(leaflet_files, minimum_size=1024), name="leaflet")
    # The page's own files change with each release: always revalidated.
    own_files = _Assets(STATIC_DIR, "no-cache")
    app.mount(ASSETS_PATH, GZipMiddleware(own_files, minimum_size=1024), name="track-assets")
    app.include_router(router)
