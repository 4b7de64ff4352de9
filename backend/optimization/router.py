"""Planning endpoints: start a plan of the day, watch it, cancel it, compare it with the
current plan and publish it (admins, dispatchers)."""

from fastapi import APIRouter

from backend.deps import SessionDep, StaffUser, StateDep
from backend.optimization import review
from backend.responses import ERRORS
from shared.schemas.optimization import (
    OptimizationComparison,
    OptimizationCreate,
    OptimizationOut,
    OptimizationPublished,
)

router = APIRouter(prefix="/optimizations", tags=["optimization"])


@router.post(
    "",
    response_model=OptimizationOut,
    status_code=202,
    responses=ERRORS(400, 401, 403, 409, 422),
)
async def start_optimization(
    body: OptimizationCreate, staff: StaffUser, state: StateDep
) -> OptimizationOut:
    """Plan a day: route the orders over the drivers within ``time_budget_s`` on the road
    network. Answers at once with the job; poll it for ``percent`` and the best plan so far.
    When ``done``, ``route_ids`` are draft routes to review and publish, and every order
    left out is in ``unassigned`` with the reason. One plan of a day runs at a time: while
    one does (started by anyone, on any server), another is refused with 409 and the running
    job's id in ``details.optimization_id``, to follow or cancel."""
    job = await state.planner.start(staff, body)
    return job.out()


@router.get("/{job_id}", response_model=OptimizationOut, responses=ERRORS(401, 403, 404))
async def get_optimization(job_id: str, staff: StaffUser, state: StateDep) -> OptimizationOut:
    """A planning job's status, progress and (when done) its draft routes. A job whose
    server stopped before it finished is ``failed`` with the reason in ``error``."""
    return (await state.planner.get(staff.org_id, job_id)).out()


@router.post(
    "/{job_id}/cancel", response_model=OptimizationOut, responses=ERRORS(401, 403, 404, 409)
)
async def cancel_optimization(job_id: str, staff: StaffUser, state: StateDep) -> OptimizationOut:
    """Stop a queued or running planning job, whichever server runs it (it stops within
    a second or two); no routes are saved."""
    return (await state.planner.cancel(staff.org_id, job_id)).out()


@router.get(
    "/{job_id}/comparison",
    response_model=OptimizationComparison,
    responses=ERRORS(401, 403, 404, 409),
)
async def compare_optimization(
    job_id: str, staff: StaffUser, state: StateDep, session: SessionDep
) -> OptimizationComparison:
    """A finished plan (its draft routes) against the day's current plan (its published and
    running routes, and the orders of the day on none of them): per side the routes, the
    distance, driving and working time, the stops reached after their window on the road
    network, and the orders left out with why. 409 while the job is not done."""
    job = await state.planner.get(staff.org_id, job_id)
    return await review.compare(session, state.routing, job)


@router.post(
    "/{job_id}/publish",
    response_model=OptimizationPublished,
    responses=ERRORS(401, 403, 404, 409),
)
async def publish_optimization(
    job_id: str, staff: StaffUser, state: StateDep, session: SessionDep
) -> OptimizationPublished:
    """Publish a finished plan's draft routes together: all of them or, if one is not a draft
    any more, none (409). Routes drivers already have are left as they are: the plan only
    routed orders that were on no route. Their orders are assigned to the routes' drivers.
    Each driver is told their day changed."""
    job = await state.planner.get(staff.org_id, job_id)
    return await review.publish(session, staff, job)
