"""No secret reaches the logs: a server logging at info with uvicorn's access log on (as
``lastmile serve --access-log`` runs) is put through sign-in, refresh, a failed sign-in,
token use (HTTP, and ``?token=`` on a socket and an event stream), webhook and shop secrets,
tracking links (page, API, socket) and an unhandled database error; every record it logs is
then searched for each password, token and secret."""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
import websockets

from backend.log_redaction import redact
from backend.main import create_app
from backend.notifications.senders import LogSms, Outgoing
from tests.backend.locations.test_fanout_sockets import ws_url
from tests.backend.test_role_table import new_webhook
from tests.conftest import make_settings
from tests.factories import PASSWORD, create_org_with_users, order_payload
from tests.live_server import free_port

pytestmark = pytest.mark.timeout(120)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The formatted line as uvicorn's own formatters would render it, and the traceback.
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@contextmanager
def captured_logs() -> Iterator[Records]:
    """Everything ``backend`` and ``uvicorn`` log at info and above, at the root logger
    (uvicorn's own logging set-up, done by any earlier server of this process, stops its
    loggers from propagating there: undone for the block)."""
    records = Records()
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in ("backend", "uvicorn", "uvicorn.access")]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    root.addHandler(records)
    for logger in loggers:
        logger.setLevel(logging.INFO)
        logger.propagate = True
    try:
        yield records
    finally:
        root.removeHandler(records)
        for logger, (level, propagate) in zip(loggers, saved, strict=True):
            logger.setLevel(level)
            logger.propagate = propagate


@contextmanager
def logging_server(tmp_path: Path) -> Iterator[str]:
    """The backend with uvicorn's access log on, its records going to the root logger."""
    port = free_port()
    config = uvicorn.Config(
        create_app(make_settings(tmp_path)),
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="info",
        access_log=True,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the backend exited during start"
        assert time.monotonic() < deadline, "the backend did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


async def test_no_password_token_or_secret_is_logged(tmp_path: Path) -> None:
    secrets: list[str] = [PASSWORD, "Wrong-password-9731"]
    with captured_logs() as logs, logging_server(tmp_path) as url:
        _, _, emails, _ = await create_org_with_users(make_settings(tmp_path))
        async with httpx.AsyncClient(base_url=url) as web:
            wrong = await web.post(
                "/api/v1/auth/token",
                data={"username": emails["admin"], "password": "Wrong-password-9731"},
            )
            assert wrong.status_code == 401
            signed_in = await web.post(
                "/api/v1/auth/token", data={"username": emails["admin"], "password": PASSWORD}
            )
            pair = signed_in.json()
            renewed = await web.post(
                "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
            secrets += [pair["access_token"], pair["refresh_token"]]
            secrets += [renewed.json()["access_token"], renewed.json()["refresh_token"]]
            web.headers["Authorization"] = f"Bearer {renewed.json()['access_token']}"
            assert (await web.get("/api/v1/auth/me")).status_code == 200
            async with websockets.connect(
                ws_url(url, f"/api/v1/fleet/ws?token={renewed.json()['access_token']}")
            ) as fleet:
                await fleet.recv()
            # The fleet's event stream as a browser opens it: the token in the query too.
            async with httpx.AsyncClient(base_url=url) as browser:
                events = f"/api/v1/fleet/events?token={renewed.json()['access_token']}"
                async with browser.stream("GET", events) as stream:
                    assert stream.status_code == 200
                    async for line in stream.aiter_lines():
                        if line.startswith("event: hello"):
                            break
                tampered = f"{pair['access_token'][:-4]}BBBB"
                secrets.append(tampered)
                denied = await browser.get(f"/api/v1/fleet/events?token={tampered}")
                assert denied.status_code == 401
            hook = await web.post(
                "/api/v1/webhooks",
                json={**new_webhook()},  # switched off: nothing is sent anywhere
            )
            assert hook.status_code == 201, hook.text
            secrets.append(hook.json()["secret"])
            shop_secret = "shop-secret-0123456789abcdef"
            shop = await web.patch(
                "/api/v1/organization", json={"shop_webhook_secret": shop_secret}
            )
            assert shop.status_code == 200, shop.text
            secrets.append(shop_secret)
            order = (await web.post("/api/v1/orders", json=order_payload())).json()
            link = await web.post(f"/api/v1/orders/{order['id']}/tracking-links", json={})
            token = link.json()["token"]
            secrets.append(token)
            assert (await web.get(f"/t/{token}")).status_code == 200
            assert (await web.get(f"/api/v1/track/{token}")).status_code == 200
            assert (await web.get(f"/api/v1/track/{token}/slots")).status_code == 200
            async with websockets.connect(ws_url(url, f"/api/v1/track/{token}/ws")) as customer:
                await customer.recv()
            # A refused socket sign-in, and a database error: logged, without the values.
            refused = f"{pair['access_token'][:-4]}AAAA"
            secrets.append(refused)
            async with websockets.connect(ws_url(url, f"/api/v1/fleet/ws?token={refused}")) as ws:
                with pytest.raises(websockets.ConnectionClosed):
                    await ws.recv()
            assert (await web.get(f"/api/v1/orders/{2**80}")).status_code == 422
        await LogSms().send(Outgoing(1, "+377 600 000", "", f"Track it: {link.json()['url']}"))
    text = "\n".join(logs.lines)
    assert '"GET /t/*** HTTP/1.1" 200' in text  # the access log was on, and masked
    assert '"GET /api/v1/fleet/events?token=*** HTTP/1.1" 200' in text
    assert "SMS to +377 600 000 (notification 1): Track it: http://" in text
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('1.2.3.4 - "GET /t/abc_DEF-12 HTTP/1.1" 200', '1.2.3.4 - "GET /t/*** HTTP/1.1" 200'),
        ("/api/v1/track/abc/ws", "/api/v1/track/***/ws"),
        ("/api/v1/fleet/ws?token=eyJ.x.y&since=1", "/api/v1/fleet/ws?token=***&since=1"),
        (
            '"GET /api/v1/fleet/events?token=eyJ.x.y HTTP/1.1" 200',
            '"GET /api/v1/fleet/events?token=*** HTTP/1.1" 200',
        ),
        ("/gps/overland?x=1&token=s3cr3t", "/gps/overland?x=1&token=***"),
        ("/gps/osmand?id=van-3&lat=43.7&key=s3cr3t", "/gps/osmand?id=van-3&lat=43.7&key=***"),
        ("/api/v1/orders?monkey=1", "/api/v1/orders?monkey=1"),
        ("Authorization: Bearer eyJ.a.b", "Authorization: Bearer ***"),
        ("/api/v1/orders/12?limit=5", "/api/v1/orders/12?limit=5"),
    ],
)
def test_redact_masks_credentials_and_keeps_the_rest(line: str, expected: str) -> None:
    assert redact(line) == expected
