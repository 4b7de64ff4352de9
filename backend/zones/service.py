"""Zones: create, change and remove, always within one organisation."""

from typing import Any

from pydantic import ValidationError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.crud import page
from backend.errors import UnprocessableError
from backend.models import Zone
from backend.models.types import utcnow
from shared.enums import ZoneKind
from shared.schemas.zones import ZoneCreate, ZoneUpdate, is_polygon


async def list_zones(
    session: AsyncSession,
    org_id: int,
    *,
    kind: ZoneKind | None,
    active: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[Zone], int]:
    conditions: list[Any] = [Zone.org_id == org_id]
    if kind is not None:
        conditions.append(Zone.kind == kind)
    if active is not None:
        conditions.append(col(Zone.active).is_(active))
    return await page(session, Zone, conditions, limit=limit, offset=offset)


async def create_zone(session: AsyncSession, org_id: int, body: ZoneCreate) -> Zone:
    zone = Zone(org_id=org_id, **_stored(body))
    session.add(zone)
    await session.flush()
    return zone


async def update_zone(session: AsyncSession, zone: Zone, body: ZoneUpdate) -> Zone:
    """Apply the fields sent, then check the whole zone as if it were created anew (a new
    outline against the stored kind, a new kind against the stored points...)."""
    changes = body.model_dump(exclude_unset=True)
    merged: dict[str, Any] = {
        "name": zone.name,
        "kind": zone.kind,
        "points": zone.points,
        "width_m": zone.width_m,
        "active": zone.active,
        "dwell_s": zone.dwell_s,
    }
    merged.update(changes)
    kind = changes.get("kind")
    if kind is not None and is_polygon(kind) and "width_m" not in changes:
        merged["width_m"] = None  # a corridor turned into a polygon keeps no width
    try:
        valid = ZoneCreate.model_validate(merged)
    except ValidationError as exc:
        raise _unprocessable(exc) from exc
    for key, value in _stored(valid).items():
        setattr(zone, key, value)
    zone.updated_at = utcnow()
    session.add(zone)
    await session.flush()
    return zone


async def delete_zone(session: AsyncSession, zone: Zone) -> None:
    await session.delete(zone)
    await session.flush()


def _stored(body: ZoneCreate) -> dict[str, Any]:
    values = body.model_dump()
    values["points"] = [[lat, lng] for lat, lng in body.points]
    return values


def _unprocessable(exc: ValidationError) -> UnprocessableError:
    problems = [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "body",
            "message": error["msg"],
            "type": error["type"],
        }
        for error in exc.errors()
    ]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
    return UnprocessableError(f"invalid zone: {summary}", details=problems)
