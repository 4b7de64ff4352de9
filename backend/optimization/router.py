"""Planning endpoints: start a plan of the day, watch it, cancel it (admins, dispatchers)."""

from fastapi import APIRouter

from backend.deps import StaffUser, StateDep
from backend.responses import ERRORS
from shared.schemas.optimization import OptimizationCreate, OptimizationOut

router = APIRouter(prefix="/optimizations", tags=["optimization"])


@router.post(
    "", response_model=OptimizationOut, status_code=202, responses=ERRORS(400, 401, 403, 422)
)
async def start_optimization(
    body: OptimizationCreate, staff: StaffUser, state: StateDep
) -> OptimizationOut:
    """Plan a day: route the orders over the drivers within ``time_budget_s`` on the road
    network. Answers at once with the job; poll it for ``percent`` and the best plan so far.
    When ``done``, ``route_ids`` are draft routes to review and publish, and every order
    left out is in ``unassigned`` with the reason."""
    job = await state.planner.start(staff, body)
    return job.out()


@router.get("/{job_id}", response_model=OptimizationOut, responses=ERRORS(401, 403, 404))
async def get_optimization(job_id: str, staff: StaffUser, state: StateDep) -> OptimizationOut:
    """A planning job's status, progress and (when done) its draft routes."""
    return state.planner.get(staff.org_id, job_id).out()


@router.post(
    "/{job_id}/cancel", response_model=OptimizationOut, responses=ERRORS(401, 403, 404, 409)
)
async def cancel_optimization(job_id: str, staff: StaffUser, state: StateDep) -> OptimizationOut:
    """Stop a queued or running planning job; no routes are saved."""
    return state.planner.cancel(staff.org_id, job_id).out()
