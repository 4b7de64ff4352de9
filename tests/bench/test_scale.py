"""bench/scale.py --quick against a real redis-server and PostgreSQL: two workers take fixes,
a customer on the other worker hears them, and a worker killed mid-load loses no
acknowledged fix."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_tool
from tests.postgres_server import POSTGRES_SERVER
from tests.redis_server import REDIS_SERVER

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_reports_throughput_latency_and_no_lost_fix() -> None:
    require_tool(REDIS_SERVER, "redis-server (Debian package redis-server)")
    require_tool(POSTGRES_SERVER, "PostgreSQL (Debian package postgresql)")
    done = subprocess.run(
        [sys.executable, "bench/scale.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])

    by_workers = figures["fixes_per_s_by_workers"]
    assert list(by_workers) == ["2"]
    assert by_workers["2"] > 500  # fixes/s accepted by two workers, even on a busy box
    # Customers on the other worker than their driver heard the driver through Redis.
    assert figures["customer_frames"] > 0
    assert 0 < figures["p50_customer_ms"] <= figures["p99_customer_ms"] < 5_000
    assert figures["accepted_at_offered_fixes_per_s"] > 0.5 * figures["offered_fixes_per_s"]
    # A worker died of SIGKILL mid-load; every fix it had acknowledged is in the history.
    assert figures["worker_killed"] is True
    assert figures["lost_acked_fixes"] == 0
