"""A notice queued by a request survives the server being SIGKILLed while the mail server
is down, and reaches the customer once when both are back."""

import asyncio
import signal
from pathlib import Path

from tests.backend.notifications.peers import eventually, smtp_server
from tests.backend.pod.test_failures import fail
from tests.backend.pod.test_pod_api import en_route_order
from tests.conftest import database_env, make_settings
from tests.factories import Org, create_org_with_users, login
from tests.live_server import free_port, server_process


async def test_a_notice_queued_before_a_crash_is_sent_once_after_the_restart(
    tmp_path: Path,
) -> None:
    smtp_port = free_port()  # nothing listens there yet: the mail server is down
    env = {
        "LASTMILE_SMTP_HOST": "127.0.0.1",
        "LASTMILE_SMTP_PORT": str(smtp_port),
        "LASTMILE_NOTIFY_RETRY_BASE_S": "0.3",
        "LASTMILE_NOTIFY_POLL_S": "0.1",
        **database_env(tmp_path),
    }
    email = "out@example.test"
    port = free_port()
    with server_process(tmp_path, port, **env) as process:
        base = f"http://127.0.0.1:{port}"
        org_id, slug, emails, driver_ids = await create_org_with_users(make_settings(tmp_path))
        roles = ("admin", "dispatcher", "driver")
        clients = {role: await login(base, emails[role]) for role in roles}
        org = Org(org_id, slug, emails, driver_ids, clients)
        only_failed = {"enabled_triggers": ["failed"]}  # one notice: the failure's
        response = await org.admin.put("/api/v1/notifications/settings", json=only_failed)
        assert response.status_code == 200, response.text
        order_id = await en_route_order(org, recipient_email=email, recipient_phone=None)
        assert (await fail(org.driver, order_id, "not_home")).status_code == 201
        path = f"/api/v1/orders/{order_id}/notifications"
        for _ in range(600):  # 30 s: a loaded CI machine is slow to make the first attempt
            [row] = (await org.dispatcher.get(path)).json()
            if row["attempts"] >= 1 and row["last_error"]:
                break
            await asyncio.sleep(0.05)
        assert row["status"] == "pending"
        assert "mail server unreachable" in row["last_error"]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        for client in clients.values():
            await client.aclose()

    port = free_port()
    with smtp_server(smtp_port) as (mailbox, _), server_process(tmp_path, port, **env):
        await eventually(lambda: len(mailbox.to(email)) == 1, "the email after the restart")
        await asyncio.sleep(1.0)  # several polls and retry periods: no second copy
        assert len(mailbox.to(email)) == 1
        async with await login(f"http://127.0.0.1:{port}", emails["dispatcher"]) as dispatcher:
            [row] = (await dispatcher.get(path)).json()
        assert (row["status"], row["last_error"]) == ("sent", None)
        assert row["attempts"] >= 2
