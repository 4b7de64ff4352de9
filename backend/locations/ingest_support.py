"""What every ingest surface (GPS-app routes, the driver WebSocket) shares: finding the running
pipeline, reading a bounded body, and telling the sender which of *its* fixes were refused."""

from collections.abc import Sequence

from fastapi import Request

from backend.errors import AppError
from backend.locations.fix import DriverRef, Fix, IngestResult, Rejected
from backend.locations.port import LocationPipeline
from backend.state import AppState
from shared.schemas.locations import MAX_BATCH

MAX_BODY_BYTES = 1024 * 1024


class PayloadTooLargeError(AppError):
    status_code = 413
    code = "payload_too_large"


def human_size(size: int) -> str:
    return f"{size / (1 << 20):g} MiB" if size >= 1 << 20 else f"{size / 1024:g} KiB"


def pipeline_of(state: AppState) -> LocationPipeline:
    """The running pipeline (``AppState.locations``), seen through its port."""
    return state.locations


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with a 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(
            f"the body is {declared} bytes; at most {limit} ({human_size(limit)}) are accepted"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is over {limit} bytes ({human_size(limit)})")
        chunks.append(chunk)
    return b"".join(chunks)


async def ingest_indexed(
    pipeline: LocationPipeline,
    driver: DriverRef,
    fixes: Sequence[Fix],
    indexes: Sequence[int],
    refused: Sequence[Rejected] = (),
) -> IngestResult:
    """Send ``fixes`` (sent by the app at positions ``indexes``) to the pipeline in batches of
    at most ``MAX_BATCH`` and report rejections at the sender's positions, together with the
    ``refused`` ones the parser could not read."""
    if not refused and len(fixes) <= MAX_BATCH and indexes == range(len(fixes)):
        return await pipeline.ingest(driver, fixes)  # one batch, numbered as sent
    accepted = history_only = 0
    rejected = list(refused)
    for start in range(0, len(fixes), MAX_BATCH):
        chunk = fixes[start : start + MAX_BATCH]
        result = await pipeline.ingest(driver, chunk)
        accepted += result.accepted
        history_only += result.history_only
        for r in result.rejected:
            rejected.append(Rejected(indexes[start + r.index], r.reason, r.message))
    rejected.sort(key=lambda r: r.index)
    return IngestResult(accepted, rejected, history_only)
