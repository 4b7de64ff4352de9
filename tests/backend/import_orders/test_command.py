"""``lastmile import orders FILE.csv`` as a user runs it: a real process against the real
server, the orders checked through the API."""

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.factories import PASSWORD, Org, create_order

HEADER = "reference,recipient name,address,lat,lon,window start,window end,barcodes\n"


def rows(n: int, start: int = 1) -> str:
    return "".join(
        f"R{i},Recipient {i},{i} Rue Grimaldi,43.73,7.42,2031-03-14T09:00,2031-03-14T11:00,B{i}\n"
        for i in range(start, start + n)
    )


@dataclass
class Run:
    code: int
    out: str


async def lastmile_import(base_url: str, org: Org, csv: Path, *args: str, tz: str = "UTC") -> Run:
    env = {**os.environ, "LASTMILE_PASSWORD": PASSWORD, "COLUMNS": "200", "TZ": tz}
    for name in ("LASTMILE_URL", "LASTMILE_EMAIL"):
        env.pop(name, None)
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "backend", "import", "orders", str(csv)],
        *["--url", base_url, "--email", org.emails["dispatcher"], *args],
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return Run(process.returncode, out.decode())


async def stored(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        response = await client.get("/api/v1/orders", params={"limit": 500, "offset": len(found)})
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["items"]
        if len(found) >= page["total"]:
            return found


async def test_imports_the_rows_and_a_second_run_creates_nothing(
    base_url: str, org: Org, tmp_path: Path
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text(HEADER + rows(3))
    first = await lastmile_import(base_url, org, csv, "--tz", "Europe/Paris")
    assert first.code == 0, first.out
    assert "imported 3 orders, 0 rows skipped" in first.out
    orders = await stored(org.dispatcher)
    assert sorted(o["reference"] for o in orders) == ["R1", "R2", "R3"]
    [r1] = [o for o in orders if o["reference"] == "R1"]
    assert r1["barcodes"] == ["B1"]
    # 09:00 in Paris in March (UTC+1), given without an offset
    assert r1["stops"][-1]["window_start"].startswith("2031-03-14T08:00:00")

    again = await lastmile_import(base_url, org, csv, "--tz", "Europe/Paris")
    assert again.code == 0, again.out
    assert "3 of them already by an earlier run" in again.out
    assert len(await stored(org.dispatcher)) == 3


async def test_a_failing_row_stops_the_import_unless_valid_only(
    base_url: str, org: Org, tmp_path: Path
) -> None:
    csv = tmp_path / "orders.csv"
    bad = "R9,Nina,9 Rue Basse,43.73,east,,,B9\n"
    csv.write_text(HEADER + rows(2) + bad + rows(1, start=3))
    refused = await lastmile_import(base_url, org, csv)
    assert refused.code == 1, refused.out
    assert "│   4 │ lon    │ 'east' is not a longitude in degrees" in refused.out
    assert "nothing imported" in refused.out
    assert await stored(org.dispatcher) == []

    checked = await lastmile_import(base_url, org, csv, "--dry-run", "--valid-only")
    assert checked.code == 0, checked.out
    assert "dry run: 3 orders would be imported, 1 row skipped" in checked.out
    assert await stored(org.dispatcher) == []

    partial = await lastmile_import(base_url, org, csv, "--valid-only")
    assert partial.code == 0, partial.out
    assert "imported 3 orders, 1 row skipped" in partial.out
    assert sorted(o["reference"] for o in await stored(org.dispatcher)) == ["R1", "R2", "R3"]


async def test_a_missing_required_column_is_named_and_can_be_mapped(
    base_url: str, org: Org, tmp_path: Path
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "name,address,Breite,lon,from,to\n"
        "Ann,1 Rue A,43.73,7.42,2031-03-14 09:00,2031-03-14 11:00\n"
    )
    missing = await lastmile_import(base_url, org, csv)
    assert missing.code == 2, missing.out
    assert "required field(s) Latitude (lat)" in missing.out
    assert "--map lat=COLUMN" in missing.out

    mapped = await lastmile_import(base_url, org, csv, "--map", "lat=Breite", tz="America/New_York")
    assert mapped.code == 0, mapped.out
    [order] = await stored(org.dispatcher)
    assert order["stops"][-1]["lat"] == 43.73
    # without --tz, this machine's zone, with its summer time (from 9 March 2031)
    assert order["stops"][-1]["window_start"].startswith("2031-03-14T13:00:00")

    unreadable = await lastmile_import(base_url, org, tmp_path / "nowhere.csv")
    assert unreadable.code == 2
    assert "cannot read" in unreadable.out


async def test_more_than_a_batch_goes_in_several_and_a_crashed_run_resumes(
    base_url: str, org: Org, tmp_path: Path
) -> None:
    # A run that stopped after its first batch of 1000 (a crash, a lost connection)...
    crashed = tmp_path / "first-batch.csv"
    crashed.write_text(HEADER + rows(1000))
    first = await lastmile_import(base_url, org, crashed)
    assert first.code == 0, first.out
    # ...then the whole file: the first batch is recognised, the rest created.
    csv = tmp_path / "orders.csv"
    csv.write_text(HEADER + rows(1203))
    whole = await lastmile_import(base_url, org, csv)
    assert whole.code == 0, whole.out
    assert "imported 1203 orders (1000 of them already by an earlier run" in whole.out
    assert "1203/1203" in whole.out  # the progress bar's last state
    references = [o["reference"] for o in await stored(org.dispatcher)]
    assert len(references) == len(set(references)) == 1203


async def test_a_server_refusal_names_the_batch_and_the_rows(
    base_url: str, org: Org, tmp_path: Path
) -> None:
    await create_order(org.dispatcher, reference="EARLIER", barcodes=["B2"])
    csv = tmp_path / "orders.csv"
    csv.write_text(HEADER + rows(3))
    refused = await lastmile_import(base_url, org, csv)
    assert refused.code == 3, refused.out
    assert "batch 1 of 1 (rows 2 to 4) was refused, none of its orders stored" in refused.out
    assert "the barcodes are on row 3" in refused.out
    assert [o["reference"] for o in await stored(org.dispatcher)] == ["EARLIER"]

    wrong = await lastmile_import(base_url, org, csv, "--password", "not-the-password")
    assert wrong.code == 3, wrong.out
    assert "sign-in refused" in wrong.out
