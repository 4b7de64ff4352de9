"""Marking an item of the exceptions inbox resolved: who, when, and a note."""

from collections.abc import Iterable

import orjson
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.db import after_commit
from backend.errors import ConflictError, NotFoundError, UnprocessableError
from backend.models import Driver, DriverEvent, ExceptionResolution, OrderEvent, User
from backend.models.types import utcnow
from backend.pod.inbox_rules import BadKeyError, ParsedKey, parse_key
from shared.channels import org_channel
from shared.schemas.exceptions import ResolutionOut


def _out(row: ExceptionResolution, name: str | None) -> ResolutionOut:
    return ResolutionOut(
        key=row.key,
        resolved_at=row.resolved_at,
        resolved_by_user_id=row.resolved_by_user_id,
        resolved_by_name=name,
        note=row.note,
    )


async def resolutions_of(
    session: AsyncSession, org_id: int, keys: Iterable[str]
) -> dict[str, ResolutionOut]:
    """The resolutions of those of ``keys`` that were marked resolved, by key."""
    wanted = sorted(set(keys))
    found: dict[str, ResolutionOut] = {}
    for start in range(0, len(wanted), 500):  # SQLite caps a statement's parameters
        rows = await session.exec(
            select(ExceptionResolution, User.full_name, User.email)
            .join(User, col(User.id) == col(ExceptionResolution.resolved_by_user_id), isouter=True)
            .where(
                ExceptionResolution.org_id == org_id,
                col(ExceptionResolution.key).in_(wanted[start : start + 500]),
            )
        )
        for row, full_name, email in rows.all():
            found[row.key] = _out(row, full_name or email)
    return found


async def _exists(session: AsyncSession, org_id: int, key: ParsedKey) -> bool:
    if key.order_id is not None:
        event = await session.get(OrderEvent, key.event_id)
        return event is not None and event.org_id == org_id and event.order_id == key.order_id
    if key.event_id is not None:
        driver_event = await session.get(DriverEvent, key.event_id)
        return (
            driver_event is not None
            and driver_event.org_id == org_id
            and driver_event.driver_id == key.driver_id
        )
    driver = await session.get(Driver, key.driver_id)
    return driver is not None and driver.org_id == org_id


async def resolve(
    session: AsyncSession, principal: Principal, key: str, note: str
) -> tuple[ResolutionOut, bool]:
    """Mark the item ``key`` resolved; ``(resolution, created)``. Resolving it again
    answers the first resolution. 422 for what is no key, 404 for an item that is not
    this organisation's. Dispatchers watching hear ``{"type": "exception_resolved",
    "key"}`` on the organisation's channel."""
    try:
        parsed = parse_key(key)
    except BadKeyError as exc:
        raise UnprocessableError(str(exc), code="bad_exception_key") from None
    if not await _exists(session, principal.org_id, parsed):
        raise NotFoundError(f"no exception {key!r} in this organisation")
    earlier = await resolutions_of(session, principal.org_id, [key])
    if key in earlier:
        return earlier[key], False
    row = ExceptionResolution(
        org_id=principal.org_id,
        key=key,
        resolved_by_user_id=principal.user_id,
        note=note.strip(),
        resolved_at=utcnow(),
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # two dispatchers at the same moment: the other one won
        raise ConflictError(f"{key!r} was resolved meanwhile; reload the inbox") from None
    user = await session.get(User, principal.user_id)
    name = (user.full_name or user.email) if user is not None else None
    after_commit(
        session,
        org_channel(principal.org_id),
        orjson.dumps({"type": "exception_resolved", "key": key}),
    )
    return _out(row, name), True
