"""``/api/v1/exceptions``: the dispatcher's exceptions inbox, its count, and marking an
item resolved (see ``backend.pod.inbox``)."""

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Path, Query

from backend.deps import SessionDep, StaffUser, StateDep
from backend.models.types import utcnow
from backend.pod.inbox import inbox
from backend.pod.inbox_resolve import resolve
from backend.responses import ERRORS
from shared.schemas.exceptions import (
    ExceptionCount,
    ExceptionItem,
    ResolutionOut,
    ResolveRequest,
)

exceptions_router = APIRouter(prefix="/exceptions", tags=["exceptions"])


async def _inbox(
    principal: StaffUser, session: SessionDep, state: StateDep, include_resolved: bool
) -> list[ExceptionItem]:
    last_fixes = {
        p.driver.driver_id: p.fix.recorded_at
        for p in await state.locations.positions(principal.org_id)
    }
    return await inbox(
        session,
        principal.org_id,
        last_fixes=last_fixes,
        now=utcnow(),
        silent_after_s=state.settings.driver_silent_after_min * 60,
        include_resolved=include_resolved,
    )


@exceptions_router.get("", response_model=list[ExceptionItem], responses=ERRORS(401, 403))
async def exception_inbox(
    principal: StaffUser,
    session: SessionDep,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    include_resolved: Annotated[
        bool, Query(description="also the items marked resolved (with who, when, note)")
    ] = False,
) -> list[ExceptionItem]:
    """The dispatcher's exception inbox, newest first: failed deliveries (with their reason
    and follow-up), proofs taken too far from the address (or with no position), stops
    left without a proof or a failure report, stops at risk of missing their window,
    drivers off their planned route, customers' instruction changes sent once the
    driver was on the way (``customer_request``: dispatch decides), and drivers on shift
    with no position for ``LASTMILE_DRIVER_SILENT_AFTER_MIN`` (``driver_silent``).

    Each item has a stable ``key``, the ``actions`` that can resolve it (``reassign``,
    ``reschedule``, ``call`` the ``contact_phone``, ``resolve``), and the order's
    reference and recipient and the driver's name and phone where known. Items marked
    resolved are left out unless ``include_resolved``; ``GET /exceptions/count`` counts
    the open ones."""
    return (await _inbox(principal, session, state, include_resolved))[:limit]


@exceptions_router.get("/count", response_model=ExceptionCount, responses=ERRORS(401, 403))
async def exception_count(
    principal: StaffUser, session: SessionDep, state: StateDep
) -> ExceptionCount:
    """How many items of the inbox are open (not marked resolved), in total and by kind:
    cheap to poll for a badge."""
    items = await _inbox(principal, session, state, include_resolved=False)
    return ExceptionCount(total=len(items), by_kind=dict(Counter(i.kind.value for i in items)))


@exceptions_router.post(
    "/{key}/resolve", response_model=ResolutionOut, responses=ERRORS(401, 403, 404, 409, 422)
)
async def resolve_exception(
    key: Annotated[str, Path(max_length=120, description="the item's ``key``")],
    principal: StaffUser,
    session: SessionDep,
    body: ResolveRequest | None = None,
) -> ResolutionOut:
    """Mark an item resolved (who and when are recorded, with an optional ``note``): it
    leaves the inbox and the count. Resolving it again answers the first resolution.
    A key of another organisation's item is 404; something that is no key, 422."""
    resolution, _ = await resolve(session, principal, key, body.note if body else "")
    return resolution
