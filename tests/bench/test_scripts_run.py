"""Every bench script runs with --quick and ends with one JSON object (no timing asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
# A module whose name starts with "_" is shared by the scripts, not a bench. scale.py needs
# redis-server and PostgreSQL: test_scale.py runs it, checking its figures.
SCRIPTS = sorted(
    p for p in BENCH.glob("*.py") if not p.name.startswith("_") and p.name != "scale.py"
)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_quick_run_prints_json_last(script: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script), "--quick"],
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(figures, dict)
    assert figures


def test_there_is_a_bench() -> None:
    assert SCRIPTS
