"""A short soak (``bench/soak.py``, 45 s): ingest held at a modest rate, over the driver
WebSocket, against a real server process. Nothing acknowledged is lost or stored twice,
the rate holds, and the server's memory stays flat once warm."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.ingest import SPEED_DEG_PER_S, travelled_deg
from bench.soak import SHUTTLE_DEG

ROOT = Path(__file__).resolve().parents[2]
RATE = 3000  # fixes/s offered: well under what one server takes, on a shared 2-core machine
GROWTH_MB = 20  # the server's RSS may move this much after the warm-up, no more


@pytest.mark.timeout(180)
def test_a_short_soak_loses_nothing_and_memory_stays_flat() -> None:
    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "soak.py"),
            "--seconds", "45", "--rate", str(RATE), "--drivers", "100",
            "--sample-s", "2", "--warmup-s", "15",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["lost_acked_fixes"] == 0, figures
    assert figures["stored_twice"] == 0, figures
    assert figures["send_errors"] == 0, figures
    assert figures["acked_fixes"] == figures["stored_fixes"], figures
    assert figures["fixes_per_s_after_warmup"] >= 0.8 * RATE, done.stdout
    growth = figures["rss_end_mb"] - figures["rss_start_mb"]
    assert growth < GROWTH_MB, done.stdout


@given(elapsed=st.floats(0, 86_400), step=st.floats(0, 60))
def test_a_shuttling_driver_stays_on_its_stretch_at_its_speed(elapsed: float, step: float) -> None:
    here = travelled_deg(elapsed, SHUTTLE_DEG)
    later = travelled_deg(elapsed + step, SHUTTLE_DEG)
    assert 0 <= here <= SHUTTLE_DEG
    assert abs(later - here) <= step * SPEED_DEG_PER_S + 1e-9  # no jump: it drives there


def test_a_shuttling_driver_turns_back_and_a_straight_one_does_not() -> None:
    one_way_s = SHUTTLE_DEG / SPEED_DEG_PER_S
    assert travelled_deg(one_way_s, SHUTTLE_DEG) == pytest.approx(SHUTTLE_DEG)
    assert travelled_deg(2 * one_way_s, SHUTTLE_DEG) == pytest.approx(0, abs=1e-12)
    assert travelled_deg(2 * one_way_s, None) == pytest.approx(2 * SHUTTLE_DEG)
