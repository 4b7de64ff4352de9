"""Our driver app's HTTP batch: parse item by item, so one bad fix never sinks the batch.

The body is a JSON array of fixes, an object ``{"fixes": [...]}`` or a single fix object.
Items that fail validation become ``invalid`` rejections naming the field; the rest go on to
the pipeline, and their rejections are mapped back to the sender's indexes.
"""

import json
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from backend.errors import AppError
from backend.locations.fix import DriverRef, Fix, IngestResult, Rejected, Rejection, Source
from backend.locations.ingest_support import PayloadTooLargeError, ingest_indexed
from backend.locations.port import LocationPipeline
from backend.locations.wire import body_fixes
from shared.schemas.locations import MAX_BATCH, FixIn


class BadBatchError(AppError):
    """The body as a whole is unusable (not JSON, not a list or object)."""

    status_code = 422
    code = "validation_error"


_ALL_VALID: TypeAdapter[list[FixIn]] = TypeAdapter(list[FixIn])


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)  # accepts NaN/Infinity, which then fail per item as invalid
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBatchError(
            f"body: not valid JSON ({exc})", details=[{"field": "body", "message": str(exc)}]
        ) from None


def parse_items(raw: bytes) -> list[Any]:
    """The list of raw items, or a 4xx saying what is wrong with the body as a whole."""
    data = _loads(raw)
    if isinstance(data, dict):
        items = data["fixes"] if set(data) == {"fixes"} else [data]
    else:
        items = data
    if not isinstance(items, list):
        problem = 'body: expected a JSON array of fixes, {"fixes": [...]} or one fix object'
        raise BadBatchError(problem, details=[{"field": "body", "message": problem}])
    if len(items) > MAX_BATCH:
        raise PayloadTooLargeError(
            f"{len(items)} fixes in one request; at most {MAX_BATCH}, send the rest in another"
        )
    return items


def _problem(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        field = ".".join(str(p) for p in error["loc"]) or "fix"
        parts.append(f"{field}: {error['msg']}")
    return "; ".join(parts)


def _fix(fix_in: FixIn, received_at: float) -> Fix:
    return Fix(
        lat=fix_in.lat,
        lng=fix_in.lng,
        recorded_at=fix_in.recorded_at.timestamp(),
        received_at=received_at,
        speed_mps=fix_in.speed_mps,
        heading_deg=fix_in.heading_deg,
        accuracy_m=fix_in.accuracy_m,
        altitude_m=fix_in.altitude_m,
        battery=fix_in.battery,
        source=Source.APP,
    )


def to_fixes(
    items: Sequence[Any], received_at: float
) -> tuple[list[int], list[Fix], list[Rejected]]:
    """Valid items as pipeline fixes (with their batch indexes) and the invalid ones."""
    try:  # the usual case, a clean batch, in one call into pydantic-core
        valid = _ALL_VALID.validate_python(items)
    except ValidationError:
        pass
    else:
        return list(range(len(valid))), [_fix(f, received_at) for f in valid], []
    indexes: list[int] = []
    fixes: list[Fix] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(items):
        try:
            fix_in = FixIn.model_validate(item)
        except ValidationError as exc:
            rejected.append(Rejected(index, Rejection.INVALID, _problem(exc)))
            continue
        indexes.append(index)
        fixes.append(_fix(fix_in, received_at))
    return indexes, fixes, rejected


async def ingest_items(
    pipeline: LocationPipeline, driver: DriverRef, items: Sequence[Any], received_at: float
) -> IngestResult:
    """Parse ``items`` one by one and ingest the readable ones; rejections by sender index."""
    indexes, fixes, rejected = to_fixes(items, received_at)
    return await ingest_indexed(pipeline, driver, fixes, indexes, rejected)


async def ingest_body(
    pipeline: LocationPipeline, driver: DriverRef, raw: bytes, received_at: float
) -> dict[str, Any]:
    """The whole request: parse ``raw``, ingest, and the answer as a JSON-ready dict
    (the shape of :class:`shared.schemas.locations.IngestResponse`)."""
    fast = body_fixes(raw, received_at)
    if fast is not None:  # every fix valid, read in one pass (see backend.locations.wire)
        result = await ingest_indexed(pipeline, driver, fast, range(len(fast)))
    else:
        result = await ingest_items(pipeline, driver, parse_items(raw), received_at)
    return {
        "accepted": result.accepted,
        "rejected": [
            {"index": r.index, "reason": r.reason.value, "message": r.message}
            for r in result.rejected
        ],
        "history_only": result.history_only,
    }
