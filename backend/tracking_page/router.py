"""Serves the customer tracking page (static files from ``customer_web``)."""

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from customer_web import STATIC_DIR

router = APIRouter(include_in_schema=False)


@router.get("/t/{token}")
async def tracking_page(token: str) -> FileResponse:
    # The page reads its token from the address and fetches /api/v1/track/{token} itself,
    # so one static file serves every link; an unknown token shows the page's own message.
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/track-assets", StaticFiles(directory=STATIC_DIR), name="track-assets")
