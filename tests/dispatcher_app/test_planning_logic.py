"""The plan panel's words, from the server's answers (pure)."""

from datetime import UTC, date, datetime

import pytest

from dispatcher_app.logic.planning import (
    DEFAULT_BUDGET_S,
    best_text,
    budget_seconds,
    comparison_rows,
    duration_text,
    progress_fraction,
    reason_text,
    status_text,
    unassigned_lines,
)
from shared.schemas.optimization import (
    BestSoFar,
    OptimizationComparison,
    OptimizationOut,
    OptimizationStatus,
    PlanSide,
    UnassignedOrder,
)

S = OptimizationStatus


def job(
    status: OptimizationStatus, percent: int = 0, best: BestSoFar | None = None
) -> OptimizationOut:
    return OptimizationOut(
        id="j",
        status=status,
        percent=percent,
        best=best,
        order_count=10,
        driver_count=2,
        engine=None,
        route_ids=[],
        unassigned=[],
        error=None,
        created_at=datetime.now(UTC),
        finished_at=None,
    )


def test_progress_is_a_fraction_once_the_optimiser_runs() -> None:
    assert progress_fraction(None) is None
    assert progress_fraction(job(S.QUEUED)) is None
    assert progress_fraction(job(S.RUNNING, 40)) == 0.4
    assert progress_fraction(job(S.RUNNING, 140)) == 1.0
    assert progress_fraction(job(S.DONE, 100)) == 1.0


def test_best_so_far_in_words() -> None:
    assert best_text(None) == ""
    assert best_text(job(OptimizationStatus.RUNNING)) == ""
    running = job(
        OptimizationStatus.RUNNING, 40, BestSoFar(drive_s=2700, distance_m=8300, served=9)
    )
    assert best_text(running) == "best: 9/10 orders, 45 min driving, 8.3 km"
    assert duration_text(5400) == "1 h 30 min"
    assert duration_text(0) == "0 min"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, DEFAULT_BUDGET_S),
        ("", DEFAULT_BUDGET_S),
        ("2", 2.0),
        ("0.1", 0.5),
        ("9999", 300.0),
        ("soon", DEFAULT_BUDGET_S),
        ("nan", DEFAULT_BUDGET_S),
    ],
)
def test_the_time_budget_setting(value: str | None, seconds: float) -> None:
    assert budget_seconds(value) == seconds


def test_a_comparison_as_rows_and_reasons() -> None:
    current = PlanSide(
        routes=1,
        stops=2,
        distance_m=12_300,
        drive_s=3600,
        working_s=4000,
        late_stops=1,
        late_order_ids=[4],
        unassigned=[UnassignedOrder(order_id=7, reason="not on any route")],
    )
    proposal = PlanSide(
        routes=2,
        stops=5,
        distance_m=20_000,
        drive_s=5400,
        working_s=7200,
        late_stops=0,
        late_order_ids=[],
        unassigned=[
            UnassignedOrder(order_id=9, reason="over_capacity"),
            UnassignedOrder(order_id=11, reason="something_new"),
        ],
    )
    compared = OptimizationComparison(
        optimization_id="j", service_date=date(2026, 12, 5), current=current, proposal=proposal
    )
    assert comparison_rows(compared) == [
        ("Distance", "12.3 km", "20.0 km"),
        ("Driving", "1 h 00 min", "1 h 30 min"),
        ("Working time", "1 h 07 min", "2 h 00 min"),
        ("Late stops", "1", "0"),
        ("Routes", "1", "2"),
        ("Unassigned", "1", "2"),
    ]
    assert unassigned_lines(proposal) == [
        "Order #9: too heavy or bulky for any van",
        "Order #11: something new",
    ]
    assert unassigned_lines(current) == ["Order #7: not on any route"]
    assert reason_text("window_unreachable") == "no driver can reach it within its window"


def test_the_status_beside_the_bar_leaves_the_figures_to_it() -> None:
    assert status_text(None) == "No plan yet"
    assert status_text(job(S.QUEUED)) == "Waiting for the optimiser"
    assert status_text(job(S.RUNNING, 40)) == "Planning…"
    done = job(S.DONE, 100).model_copy(
        update={"route_ids": [1, 2], "unassigned": [UnassignedOrder(order_id=3, reason="no_room")]}
    )
    assert status_text(done) == "2 draft routes · 1 left out"
    assert status_text(job(S.CANCELLED)) == "Planning cancelled"
