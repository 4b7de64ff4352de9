"""What a stored planning job shows: progress by status, and when its worker counts as gone."""

from datetime import UTC, date, datetime, timedelta

from backend.optimization.job_store import PlanningJob
from backend.optimization.worker import Best
from shared.schemas.optimization import OptimizationCreate, OptimizationStatus

S = OptimizationStatus
T0 = datetime(2026, 12, 5, 9, tzinfo=UTC)


def job(status: OptimizationStatus, percent: int = 40, beat: datetime = T0) -> PlanningJob:
    return PlanningJob(
        id="a" * 32,
        org_id=1,
        body=OptimizationCreate(service_date=date(2026, 12, 5)),
        status=status,
        percent=percent,
        best=Best(3600, 42_000, 7),
        order_count=8,
        driver_count=2,
        engine=None,
        route_ids=[],
        unassigned=[(9, "over_capacity")],
        error=None,
        created_at=T0,
        heartbeat_at=beat,
        finished_at=None,
    )


def test_progress_is_shown_while_running_full_when_done_and_none_otherwise() -> None:
    assert job(S.RUNNING, 40).out().percent == 40
    assert job(S.RUNNING, 100).out().percent == 99  # done only once the drafts are saved
    assert job(S.DONE, 99).out().percent == 100
    assert [job(s).out().percent for s in (S.QUEUED, S.FAILED, S.CANCELLED)] == [0, 0, 0]
    shown = job(S.RUNNING).out()
    assert shown.best is not None
    assert (shown.best.drive_s, shown.best.distance_m, shown.best.served) == (3600, 42_000, 7)
    assert [(u.order_id, u.reason) for u in shown.unassigned] == [(9, "over_capacity")]


def test_only_an_active_job_whose_worker_went_quiet_is_stale() -> None:
    after = timedelta(seconds=15)
    assert not job(S.RUNNING).stale(T0 + timedelta(seconds=15), after)
    assert job(S.RUNNING).stale(T0 + timedelta(seconds=16), after)
    assert job(S.QUEUED).stale(T0 + timedelta(seconds=16), after)  # waiting for a slot
    for finished in (S.DONE, S.FAILED, S.CANCELLED):
        assert not job(finished).stale(T0 + timedelta(hours=1), after)
