"""HTTP endpoints for standard GPS apps: OsmAnd / Traccar Client, OwnTracks, Overland.

Not in the OpenAPI document (they are for apps, not people; the README documents them).
Status codes, chosen per protocol (each app retries on anything but 2xx):

============  =============================  ======================  ========================
              OsmAnd / Traccar Client        OwnTracks               Overland
============  =============================  ======================  ========================
success       200, empty body                200, ``[]``             200 ``{"result": "ok"}``
unknown dev.  404                            404                     404
bad secret    401                            401                     401
malformed     400 (413 over 1 MiB)           400                     400 (whole batch only)
============  =============================  ======================  ========================

A fix the cleaning chain drops (duplicate, too old...) still gets the success reply: resending
it would not help. Overland's unreadable points are dropped and listed under ``rejected``; the
reply is ``ok`` once the good points are durable, so one bad point cannot block its queue.
"""

import base64
import binascii
import json
import time
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Query, Request, Response

from backend.deps import StateDep
from backend.errors import BadRequestError
from backend.locations.fix import IngestResult
from backend.locations.gps_protocols import (
    DeviceReport,
    ProtocolError,
    parse_osmand,
    parse_overland,
    parse_owntracks,
    parse_traccar_json,
)
from backend.locations.ingest_support import ingest_indexed, pipeline_of, read_body
from backend.state import AppState

router = APIRouter(prefix="/gps", tags=["gps apps"], include_in_schema=False)


def _bad(exc: ProtocolError) -> BadRequestError:
    return BadRequestError(str(exc), code="bad_gps_request")


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequestError(f"body: not valid JSON ({exc})", code="bad_gps_request") from exc


async def _ingest(state: AppState, report: DeviceReport, identifier: str | None) -> IngestResult:
    if identifier is None:
        raise BadRequestError("device_id: missing; the device is not named", code="bad_gps_request")
    device = await state.devices.authenticate(identifier, report.secret)
    state.devices.seen(device.device_id, time.time())
    return await ingest_indexed(
        pipeline_of(state), device.driver, report.fixes, report.indexes, report.rejected
    )


@router.api_route("/osmand", methods=["GET", "POST"])
async def osmand(request: Request, state: StateDep) -> Response:
    """OsmAnd online tracking and the Traccar Client: query string, form body, or the
    Traccar Client's JSON body."""
    received_at = time.time()
    params = dict(request.query_params)
    try:
        if request.method == "POST":
            raw = await read_body(request)
            content_type = request.headers.get("content-type", "")
            if content_type.startswith("application/json"):
                report = parse_traccar_json(_json(raw), received_at)
                await _ingest(state, report, report.identifier)
                return Response(status_code=200)
            try:
                form = parse_qsl(raw.decode(), keep_blank_values=True)
            except UnicodeDecodeError as exc:
                raise BadRequestError("body: not a UTF-8 form", code="bad_gps_request") from exc
            params.update(form)
        report = parse_osmand(params, received_at)
    except ProtocolError as exc:
        raise _bad(exc) from exc
    await _ingest(state, report, report.identifier)
    return Response(status_code=200)


def _basic_auth(header: str | None) -> tuple[str | None, str | None]:
    """(user, password) of an HTTP Basic ``Authorization`` header, or (None, None)."""
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequestError("Authorization: not valid Basic credentials") from exc
    user, _, password = decoded.partition(":")
    return user or None, password or None


@router.post("/owntracks")
async def owntracks(
    request: Request,
    state: StateDep,
    x_limit_u: Annotated[str | None, Header()] = None,
    u: Annotated[str | None, Query()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> list[Any]:
    """OwnTracks in HTTP mode. The device is ``X-Limit-U``, else ``?u=``, else the Basic user,
    else ``tid``; its secret is the Basic password. Always answers a JSON array."""
    received_at = time.time()
    raw = await read_body(request)
    try:
        message = parse_owntracks(_json(raw), received_at)
    except ProtocolError as exc:
        raise _bad(exc) from exc
    user, password = _basic_auth(authorization)
    identifier = x_limit_u or u or user or message.tid
    fixes = [] if message.fix is None else [message.fix]
    report = DeviceReport(identifier, password, fixes, list(range(len(fixes))))
    await _ingest(state, report, identifier)  # other _types: authenticated, then acknowledged
    return []


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


@router.post("/overland")
async def overland(
    request: Request,
    state: StateDep,
    token: Annotated[str | None, Query()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Overland batches. The token (device secret) is a Bearer header or ``?token=``."""
    received_at = time.time()
    raw = await read_body(request)
    try:
        parsed = parse_overland(_json(raw), received_at)
    except ProtocolError as exc:
        raise _bad(exc) from exc
    secret = _bearer(authorization) or token
    report = DeviceReport(parsed.identifier, secret, parsed.fixes, parsed.indexes, parsed.rejected)
    if report.identifier is None and not report.fixes:
        result = IngestResult(0, report.rejected)
    else:
        result = await _ingest(state, report, report.identifier)
    return {
        "result": "ok",
        "accepted": result.accepted,
        "rejected": [
            {"index": r.index, "reason": str(r.reason), "message": r.message}
            for r in result.rejected
        ],
    }
