import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from backend import __version__
from backend.deps import StateDep
from shared.schemas.health import ComponentHealth, Health

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 3.0


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(state: StateDep) -> JSONResponse:
    """Whether the database and the pub/sub broker answer. 503 when either does not."""
    db = ComponentHealth(ok=True, backend=state.engine.dialect.name)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not reachable", reported, not raised
        db = ComponentHealth(ok=False, backend=db.backend, detail=f"{type(exc).__name__}: {exc}")
    broker = ComponentHealth(ok=True, backend=state.broker.name)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await state.broker.ping()
    except Exception as exc:
        broker = ComponentHealth(
            ok=False, backend=broker.backend, detail=f"{type(exc).__name__}: {exc}"
        )
    ok = db.ok and broker.ok
    body = Health(
        status="ok" if ok else "degraded",
        version=__version__,
        database=db,
        broker=broker,
        spatial=state.spatial,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
