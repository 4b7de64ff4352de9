"""Lookups shared by the organisation-scoped tables."""

from typing import Any

from sqlmodel import SQLModel, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.errors import BadRequestError, NotFoundError


async def get_in_org[M: SQLModel](
    session: AsyncSession, model: type[M], obj_id: int, org_id: int, *, label: str
) -> M:
    """The row, or a 404 if it is missing or belongs to another organisation."""
    obj = await session.get(model, obj_id)
    if obj is None or getattr(obj, "org_id", None) != org_id:
        raise NotFoundError(f"{label} {obj_id} not found")
    return obj


async def reference_in_org[M: SQLModel](
    session: AsyncSession, model: type[M], obj_id: int | None, org_id: int, *, field: str
) -> M | None:
    """Check a foreign id given in a payload: a 400 naming the field when it is not ours."""
    if obj_id is None:
        return None
    obj = await session.get(model, obj_id)
    if obj is None or getattr(obj, "org_id", None) != org_id:
        raise BadRequestError(f"{field}: {obj_id} does not exist in this organisation")
    return obj


async def page[M: SQLModel](
    session: AsyncSession,
    model: type[M],
    conditions: list[Any],
    *,
    limit: int,
    offset: int,
    order_by: Any = None,
) -> tuple[list[M], int]:
    total = (await session.exec(select(func.count()).select_from(model).where(*conditions))).one()
    key = order_by if order_by is not None else model.id  # type: ignore[attr-defined]
    rows = await session.exec(
        select(model).where(*conditions).order_by(key).offset(offset).limit(limit)
    )
    return list(rows.all()), total
