"""The plan panel's words: a job's progress, its best plan so far, and a plan compared with
the day's current one. Pure functions over the server's answers."""

from shared.schemas.optimization import (
    OptimizationComparison,
    OptimizationOut,
    OptimizationStatus,
    PlanSide,
)

REASONS = {
    "no_vehicle_with_skills": "no van has the skills it needs",
    "over_capacity": "too heavy or bulky for any van",
    "window_unreachable": "no driver can reach it within its window",
    "no_room": "no room left in the drivers' day",
}

DEFAULT_BUDGET_S = 10.0
BUDGET_RANGE_S = (0.5, 300.0)  # what the server accepts


def budget_seconds(value: str | None) -> float:
    """The optimiser's time budget from a setting's text: seconds within what the server
    accepts; :data:`DEFAULT_BUDGET_S` when unset or not a number."""
    try:
        seconds = float(value) if value else DEFAULT_BUDGET_S
    except ValueError:
        return DEFAULT_BUDGET_S
    low, high = BUDGET_RANGE_S
    return min(max(seconds, low), high) if seconds == seconds else DEFAULT_BUDGET_S


def duration_text(seconds: int) -> str:
    """``5400`` -> ``"1 h 30 min"``; under an hour, minutes only."""
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def distance_text(metres: int) -> str:
    return f"{metres / 1000:.1f} km"


def progress_fraction(job: OptimizationOut | None) -> float | None:
    """How far the job is, 0 to 1, for a progress bar (None: not started, so no bar)."""
    if job is None or job.status is OptimizationStatus.QUEUED:
        return None
    if job.status is OptimizationStatus.DONE:
        return 1.0
    return max(0.0, min(1.0, job.percent / 100))


def best_text(job: OptimizationOut | None) -> str:
    """The best plan so far, e.g. ``"best: 9/10 orders, 1 h 30 min driving, 42.5 km"``."""
    if job is None or job.best is None:
        return ""
    best = job.best
    return (
        f"best: {best.served}/{job.order_count} orders, "
        f"{duration_text(best.drive_s)} driving, {distance_text(best.distance_m)}"
    )


def progress_text(job: OptimizationOut | None) -> str:
    """One line for the panel: where the plan is and how good it is so far."""
    if job is None:
        return "No plan yet"
    if job.status is OptimizationStatus.QUEUED:
        return "Waiting for the optimiser"
    if job.status is OptimizationStatus.FAILED:
        return f"Planning failed: {job.error or 'unknown error'}"
    if job.status is OptimizationStatus.CANCELLED:
        return "Planning cancelled"
    best = f" · {best_text(job).replace('best:', 'best so far:')}" if job.best else ""
    if job.status is OptimizationStatus.RUNNING:
        return f"Planning… {job.percent} %{best}"
    left = f" · {len(job.unassigned)} left out" if job.unassigned else ""
    return f"{len(job.route_ids)} draft routes{best}{left}"


def status_text(job: OptimizationOut | None) -> str:
    """The status beside the progress bar, which already shows the percent and the best
    plan: :func:`progress_text` without them."""
    if job is not None and job.status is OptimizationStatus.RUNNING:
        return "Planning…"
    if job is not None and job.status is OptimizationStatus.DONE:
        left = f" · {len(job.unassigned)} left out" if job.unassigned else ""
        return f"{len(job.route_ids)} draft routes{left}"
    return progress_text(job)


def _row(label: str, current: str, proposal: str) -> tuple[str, str, str]:
    return label, current, proposal


def comparison_rows(comparison: OptimizationComparison) -> list[tuple[str, str, str]]:
    """The table's rows: (what, current plan, proposal)."""
    now, new = comparison.current, comparison.proposal
    return [
        _row("Distance", distance_text(now.distance_m), distance_text(new.distance_m)),
        _row("Driving", duration_text(now.drive_s), duration_text(new.drive_s)),
        _row("Working time", duration_text(now.working_s), duration_text(new.working_s)),
        _row("Late stops", str(now.late_stops), str(new.late_stops)),
        _row("Routes", str(now.routes), str(new.routes)),
        _row("Unassigned", str(len(now.unassigned)), str(len(new.unassigned))),
    ]


def reason_text(reason: str) -> str:
    """A planner's reason in plain words (an unknown one as it came, underscores spaced)."""
    return REASONS.get(reason, reason.replace("_", " "))


def unassigned_lines(side: PlanSide) -> list[str]:
    """One line per order the plan leaves out: ``"Order #12: too heavy or bulky for any van"``."""
    return [f"Order #{o.order_id}: {reason_text(o.reason)}" for o in side.unassigned]
