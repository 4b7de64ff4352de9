"""nginx's access log holds no customer's tracking token and no credential.

The real nginx with the shipped snippets (tests/nginx_server.py) in front of a real backend:
a customer opens their tracking link (the page, then its API call with the page as Referer),
a dispatcher's browser follows the fleet's event stream with ``?token=``, GPS apps post
with their device secret in the query (Overland ``token``, OsmAnd ``key``). The ``lastmile``
format logs each of them masked, in the combined shape; nginx's default format, on the same
requests, logs every secret in clear.
"""

import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.backend.locations.test_fanout_sockets import access_token
from tests.backend.locations.test_ingest_gps import register
from tests.conftest import require_tool
from tests.customer_web.pages import link_for
from tests.factories import Org, create_order
from tests.nginx_server import DEPLOY, NGINX, run_nginx

# nginx's "combined": remote address, user, time, "request line", status, bytes,
# "Referer", "User-Agent".
COMBINED = re.compile(
    r"^(?P<addr>\S+) - (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    r'"(?P<method>[A-Z]+) (?P<target>\S+) (?P<protocol>HTTP/[\d.]+)" '
    r'(?P<status>\d{3}) (?P<bytes>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)"$'
)


@dataclass
class Secrets:
    tracking: str  # a customer's tracking link
    access: str  # a dispatcher's access token
    overland: str  # a GPS app's device secret, as Overland sends it
    osmand: str  # another one, as OsmAnd sends it
    overland_device: str
    osmand_device: str

    def all(self) -> list[str]:
        return [self.tracking, self.access, self.overland, self.osmand]


@pytest.fixture
def nginx_available() -> None:
    require_tool(NGINX, "nginx (Debian package nginx)")


@pytest.fixture
async def secrets(nginx_available: None, org: Org) -> Secrets:
    order = await create_order(org.dispatcher)
    overland_device, osmand_device = (f"{app}-{uuid.uuid4().hex[:12]}" for app in ("ol", "oa"))
    overland, osmand = f"ol-secret-{uuid.uuid4().hex}", f"oa-secret-{uuid.uuid4().hex}"
    await register(org, overland_device, secret=overland)
    await register(org, osmand_device, secret=osmand)
    return Secrets(
        tracking=await link_for(org, order["id"]),
        access=await access_token(org.dispatcher),
        overland=overland,
        osmand=osmand,
        overland_device=overland_device,
        osmand_device=osmand_device,
    )


@pytest.fixture
def port(base_url: str) -> int:
    found = urlsplit(base_url).port
    assert found is not None
    return found


async def traffic(url: str, secrets: Secrets) -> list[tuple[str, str, int]]:
    """The requests, through nginx at ``url``: (method, target, status) of each, in order."""
    sent: list[tuple[str, str, int]] = []
    page = f"/t/{secrets.tracking}"
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        response = await client.get(page)
        sent.append(("GET", page, response.status_code))
        # The page's script asks for the order's view: the page is its Referer.
        view = f"/api/v1/track/{secrets.tracking}"
        response = await client.get(view, headers={"Referer": f"{url}{page}"})
        sent.append(("GET", view, response.status_code))
        events = f"/api/v1/fleet/events?token={secrets.access}"
        async with client.stream("GET", events) as stream:
            async for _ in stream.aiter_bytes():
                break  # the first event came: the dispatcher closes the tab
            sent.append(("GET", events, stream.status_code))
        overland = f"/gps/overland?token={secrets.overland}"
        response = await client.post(
            overland, json={"device_id": secrets.overland_device, "locations": []}
        )
        sent.append(("POST", overland, response.status_code))
        osmand = (
            f"/gps/osmand?id={secrets.osmand_device}&key={secrets.osmand}&lat=43.7384&lon=7.4246"
        )
        response = await client.get(osmand)
        sent.append(("GET", osmand, response.status_code))
    assert [status for *_, status in sent] == [200] * len(sent), sent
    return sent


def logged(log: Path, lines: int) -> list[str]:
    """The access log once it holds ``lines`` lines (nginx writes a line when a request
    ends: the event stream's once nginx sees the client gone)."""
    deadline = time.monotonic() + 10
    while True:
        text = log.read_text() if log.exists() else ""
        if len(text.splitlines()) >= lines or time.monotonic() > deadline:
            return text.splitlines()
        time.sleep(0.05)


async def log_of(tmp_path: Path, port: int, secrets: Secrets, log_format: str) -> list[str]:
    prefix = tmp_path / log_format
    with run_nginx(prefix, [port, port], access_log_format=log_format) as url:
        sent = await traffic(url, secrets)
        lines = logged(prefix / "access.log", len(sent))
    assert len(lines) == len(sent), lines
    return lines


async def test_the_lastmile_format_logs_no_token_and_keeps_the_combined_shape(
    tmp_path: Path, port: int, secrets: Secrets
) -> None:
    lines = await log_of(tmp_path, port, secrets, "lastmile")
    text = "\n".join(lines)
    for secret in secrets.all():
        assert secret not in text, f"{secret} is in the access log:\n{text}"
    parsed = [COMBINED.match(line) for line in lines]
    assert all(parsed), f"not in the combined shape:\n{text}"
    seen = [(m["method"], m["target"], int(m["status"])) for m in parsed if m]
    nginx = next(m for m in parsed if m)["addr"]
    assert nginx == "127.0.0.1"
    assert seen == [
        ("GET", "/t/***", 200),
        ("GET", "/api/v1/track/***", 200),
        ("GET", "/api/v1/fleet/events?token=***", 200),
        ("POST", "/gps/overland?token=***", 200),
        ("GET", f"/gps/osmand?id={secrets.osmand_device}&key=***&lat=43.7384&lon=7.4246", 200),
    ]
    referers = [m["referer"] for m in parsed if m]
    assert referers[0] == "-"
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/t/\*\*\*", referers[1]), referers[1]
    assert all(m["agent"].startswith("python-httpx/") for m in parsed if m)


async def test_the_default_format_would_log_every_token_in_clear(
    tmp_path: Path, port: int, secrets: Secrets
) -> None:
    # What the lastmile format is for: nginx's default log of the same requests.
    text = "\n".join(await log_of(tmp_path, port, secrets, "combined"))
    for secret in secrets.all():
        assert secret in text
    assert "***" not in text


def test_every_server_block_of_the_sample_logs_in_the_lastmile_format() -> None:
    site = (DEPLOY / "lastmile.conf").read_text()
    config = "\n".join(line.split("#")[0] for line in site.splitlines())
    # The blocks follow one another at the top level: each runs to the next one.
    blocks = re.split(r"^server\s*\{", config, flags=re.MULTILINE)[1:]
    assert len(blocks) == 4  # http -> https, the API, the two Flet apps
    for block in blocks:
        logs = re.findall(r"^\s*access_log\s+(.*);", block, re.MULTILINE)
        assert logs == ["/var/log/nginx/access.log lastmile"], block
