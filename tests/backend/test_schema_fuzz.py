"""Schemathesis against the live server's OpenAPI document: every operation, signed in as
an admin (2,000+ generated requests, valid and invalid), then as a driver (a third as
many), and not one 5xx.

The run has a server and an organisation of its own: it deletes, revokes and rate-limits
freely without touching the session's server. Select it alone with ``-m fuzz``; the seed is
fixed (``derandomize``), so a failure found here is found again on the next run.
"""

import asyncio
import os
import re
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from backend.webhooks import url_guard
from tests.backend.test_role_table import YARD, new_webhook
from tests.backend.world import build_world
from tests.conftest import _new_org, make_settings
from tests.factories import PASSWORD, Org
from tests.live_server import run_server

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(600)]

MIN_CASES = 2000
# Per operation, half with generated path parameters, half with the world's real ones
# (where it has them all): ~95 operations, ~2,800 cases, ~40 s on two cores. Deeper runs:
# LASTMILE_FUZZ_EXAMPLES=200.
EXAMPLES_PER_OPERATION = int(os.environ.get("LASTMILE_FUZZ_EXAMPLES", "30"))
REQUEST_TIMEOUT_S = 30


@dataclass
class Tally:
    cases: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)


def _sign_in(base_url: str, email: str) -> dict[str, str]:
    response = httpx.post(
        f"{base_url}/api/v1/auth/token", data={"username": email, "password": PASSWORD}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _real_parameters(base_url: str, org: Org) -> dict[str, Any]:
    """Path parameters naming objects that exist: the generated requests reach past 404."""
    world = await build_world(org)
    admin = org.admin
    zone = await admin.post("/api/v1/zones", json={"name": "Yard", "kind": "zone", "points": YARD})
    hook = await admin.post("/api/v1/webhooks", json={**new_webhook()})
    device = await admin.post(
        f"/api/v1/drivers/{org.driver_ids[0]}/devices", json={"identifier": "fuzz-device"}
    )
    for response in (zone, hook, device):
        assert response.status_code == 201, response.text
    return {
        "order_id": world.own_order_id,
        "route_id": world.own_route_id,
        "driver_id": org.driver_ids[0],
        "vehicle_id": world.vehicle_id,
        "depot_id": world.depot_id,
        "zone_id": zone.json()["id"],
        "webhook_id": hook.json()["id"],
        "device_id": device.json()["id"],
        "token": world.token,
        "org_slug": org.slug,
        "key": "delivered",
        "language": "en",
    }


def _streams(operation: Any) -> bool:
    """An endpoint that answers with an endless ``text/event-stream`` (the SSE feeds): a case
    that gets in would wait for a body that never ends. Their refusals and messages are
    tested in tests/backend/locations/test_event_streams.py and the role table."""
    responses = operation.definition.raw.get("responses", {})
    return any("text/event-stream" in (r.get("content") or {}) for r in responses.values())


def _fuzz(base_url: str, email: str, real: dict[str, Any], examples: int) -> Tally:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    tally = Tally()
    auth = _sign_in(base_url, email)  # updated in place when signed in again
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if _streams(operation):
            continue
        # A case may have signed the admin out everywhere (logout): sign in again.
        if httpx.get(f"{base_url}/api/v1/auth/me", headers=auth).status_code == 401:
            auth.update(_sign_in(base_url, email))  # updated in place when signed in again
        strategies = [
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        ]
        names = re.findall(r"{(\w+)}", operation.path)
        if names and all(name in real for name in names):
            fixed = {name: real[name] for name in names}
            strategies += [
                operation.as_strategy(
                    generation_mode=GenerationMode.POSITIVE, path_parameters=fixed
                ),
                operation.as_strategy(
                    generation_mode=GenerationMode.NEGATIVE, path_parameters=fixed
                ),
            ]
        strategy = st.one_of(strategies)

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: schemathesis.Case[Any]) -> None:
            # The admin's token, unless the case sends an Authorization of its own.
            headers = dict(case.headers or {})
            headers.setdefault("Authorization", auth["Authorization"])
            response = case.call(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S)
            tally.cases += 1
            status = response.status_code
            tally.by_status[status] = tally.by_status.get(status, 0) + 1
            if status >= 500:
                tally.server_errors.append(
                    f"{status} {case.method} {case.formatted_path} "
                    f"query={case.query} body={case.body!r:.300}: {response.text[:300]}"
                )

        run()
    return tally


async def _documentation_address(host: str, port: int) -> list[IPv4Address | IPv6Address]:
    return [IPv4Address("192.0.2.1")]  # TEST-NET-1 (RFC 5737)


@pytest.mark.parametrize(
    ("role", "share"),
    [("admin", 1.0), ("driver", 1 / 3)],  # the driver's pass reaches the driver-only paths
)
async def test_no_generated_request_gets_a_server_error(
    tmp_path: Path, role: str, share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its own server: the fuzzer guesses tracking tokens and passwords from 127.0.0.1, which
    # the session's server would then refuse to every other test.
    settings_ = make_settings(tmp_path, tracking_guesses_per_min=10_000)
    examples = max(1, round(EXAMPLES_PER_OPERATION * share))
    with run_server(settings_) as url:
        async with _new_org(settings_, url) as org:
            real = await _real_parameters(url, org)
            # Generated webhook URLs are neither looked up nor ever sent to: every host
            # "resolves" to a documentation address, which the URL guard refuses (4xx).
            monkeypatch.setattr(url_guard, "resolve", _documentation_address)
            started = time.monotonic()
            tally = await asyncio.to_thread(_fuzz, url, org.emails[role], real, examples)
            elapsed = time.monotonic() - started
    print(f"schemathesis ({role}): {tally.cases} cases in {elapsed:.0f} s; {tally.by_status}")
    assert not tally.server_errors, "\n".join(tally.server_errors)
    assert tally.cases >= MIN_CASES * share
