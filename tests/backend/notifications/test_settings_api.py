"""An organisation's notice settings and templates over the API: checked when saved (an
unknown template variable is a 422 naming it), applied when queueing; quiet hours hold a
notice (or skip a stale "arriving" one); a customer's opt-out from the tracking page."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import select

from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.models import Stop
from backend.notifications.hook import bind, on_etas
from backend.notifications.outbox import Notices
from tests.factories import Org, create_order

SETTINGS = "/api/v1/notifications/settings"
TEMPLATE = "/api/v1/notifications/templates/out_for_delivery/fr"


async def rows_of(org: Org, order_id: int) -> list[dict[str, Any]]:
    response = await org.dispatcher.get(f"/api/v1/orders/{order_id}/notifications")
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def on_the_way(org: Org, **fields: Any) -> dict[str, Any]:
    order = await create_order(org.dispatcher, **fields)
    for body in ({"to": "assigned", "driver_id": org.driver_ids[0]}, {"to": "en_route"}):
        response = await org.dispatcher.post(f"/api/v1/orders/{order['id']}/transitions", json=body)
        assert response.status_code == 200, response.text
    return order


async def test_settings_have_defaults_are_replaced_and_refuse_bad_values(org: Org) -> None:
    default = (await org.admin.get(SETTINGS)).json()
    assert default["arriving_minutes"] == 10
    assert default["quiet_start"] is None
    assert default["auto_tracking_links"] is True
    assert set(default["enabled_triggers"]) == {
        "scheduled", "out_for_delivery", "arriving", "delivered", "failed", "rescheduled"
    }  # fmt: skip
    wanted = {
        "enabled_triggers": ["delivered", "arriving"],
        "arriving_minutes": 15,
        "quiet_start": "21:30",
        "quiet_end": "07:00",
        "timezone": "Europe/Paris",
        "default_language": "fr",
        "auto_tracking_links": False,
    }
    response = await org.admin.put(SETTINGS, json=wanted)
    assert response.status_code == 200, response.text
    stored = (await org.admin.get(SETTINGS)).json()
    assert stored == {**wanted, "enabled_triggers": ["arriving", "delivered"]}

    for bad, says in (
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"enabled_triggers": ["party"]}, "party"),
        ({"quiet_start": "22:00"}, "both"),
        ({"quiet_start": "25:00", "quiet_end": "07:00"}, "quiet_start"),
        ({"arriving_minutes": 0}, "arriving_minutes"),
    ):
        refused = await org.admin.put(SETTINGS, json=bad)
        assert refused.status_code == 422, refused.text
        assert says in refused.text
    assert (await org.dispatcher.put(SETTINGS, json={})).status_code == 403


async def test_a_template_with_an_unknown_variable_is_refused_when_saved(org: Org) -> None:
    shipped = (await org.admin.get(TEMPLATE)).json()
    assert shipped["custom"] is False
    assert "out for delivery" in shipped["sms"]
    bad = {"subject": "En route", "email": "Bonjour {{ customer_first_name }}", "sms": "x"}
    refused = await org.admin.put(TEMPLATE, json=bad)
    assert refused.status_code == 422, refused.text
    assert "customer_first_name" in refused.json()["error"]["message"]
    assert "fr/out_for_delivery.email" in refused.json()["error"]["message"]
    broken = await org.admin.put(TEMPLATE, json={**bad, "email": "{% if %}"})
    assert broken.status_code == 422
    unknown = "/api/v1/notifications/templates/party/fr"
    assert (await org.admin.put(unknown, json={**bad, "email": "ok"})).status_code == 422
    assert (await org.admin.get(TEMPLATE)).json()["custom"] is False  # nothing was stored

    own = {
        "subject": "Colis {{ reference }} en route",
        "email": "Bonjour {{ recipient_name }}, votre colis arrive.",
        "sms": "{{ org_name }} : votre colis {{ reference }} est en route.",
    }
    saved = await org.admin.put(TEMPLATE, json=own)
    assert saved.status_code == 200, saved.text
    assert saved.json()["custom"] is True
    await org.admin.put(SETTINGS, json={"default_language": "fr"})
    order = await on_the_way(org)
    [row] = await rows_of(org, order["id"])
    assert row["language"] == "fr"
    assert row["body"].endswith(f" : votre colis {order['reference']} est en route.")

    assert (await org.admin.delete(TEMPLATE)).status_code == 204
    assert (await org.admin.get(TEMPLATE)).json()["custom"] is False
    assert (await org.admin.delete(TEMPLATE)).status_code == 404


def quiet_now(zone: str) -> dict[str, str]:
    """Quiet hours from an hour ago to two hours ahead, local time."""
    local = datetime.now(ZoneInfo(zone))
    start, end = local - timedelta(hours=1), local + timedelta(hours=2)
    return {"quiet_start": start.strftime("%H:%M"), "quiet_end": end.strftime("%H:%M")}


async def test_quiet_hours_hold_a_notice_and_skip_a_stale_arriving_one(
    org: Org, settings: Settings
) -> None:
    quiet = quiet_now("Asia/Tokyo")
    response = await org.admin.put(SETTINGS, json={**quiet, "timezone": "Asia/Tokyo"})
    assert response.status_code == 200, response.text
    order = await on_the_way(org)
    [held] = await rows_of(org, order["id"])
    assert (held["template"], held["status"]) == ("out_for_delivery", "pending")
    assert held["attempts"] == 0
    ends = datetime.fromisoformat(held["next_attempt_at"]).astimezone(ZoneInfo("Asia/Tokyo"))
    assert ends.strftime("%H:%M") == quiet["quiet_end"]
    assert ends > datetime.now(UTC) + timedelta(minutes=100)

    engine = create_engine(settings.resolved_database_url)
    bind(engine, Notices(settings))
    try:
        async with session_scope(engine) as session:
            stop = (await session.exec(select(Stop).where(Stop.order_id == order["id"]))).one()
            assert stop.id is not None
            await on_etas(session, [(order["id"], stop.id, time.time() + 300)], time.time())
    finally:
        await engine.dispose()
    arriving = [r for r in await rows_of(org, order["id"]) if r["template"] == "arriving"]
    assert [(r["status"], r["last_error"][:12]) for r in arriving] == [("skipped", "quiet hours ")]


async def test_a_customer_who_opts_out_from_the_tracking_page_gets_nothing_more(
    org: Org, base_url: str
) -> None:
    order = await create_order(org.dispatcher, recipient_phone="+377 600 111 222")
    link = await org.dispatcher.post(f"/api/v1/orders/{order['id']}/tracking-links", json={})
    token = link.json()["token"]
    await org.admin.put(SETTINGS, json=quiet_now("UTC"))  # the first notice waits
    response = await org.dispatcher.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"to": "assigned", "driver_id": org.driver_ids[0]},
    )
    response = await org.dispatcher.post(
        f"/api/v1/orders/{order['id']}/transitions", json={"to": "en_route"}
    )
    assert response.status_code == 200, response.text
    [waiting] = await rows_of(org, order["id"])
    assert waiting["status"] == "pending"

    async with httpx.AsyncClient(base_url=base_url) as customer:  # no account
        opted = await customer.post(f"/api/v1/track/{token}/opt-out")
        assert opted.status_code == 200, opted.text
        assert (await customer.post("/api/v1/track/not-a-token/opt-out")).status_code == 404
    [skipped] = await rows_of(org, order["id"])
    assert (skipped["status"], skipped["last_error"]) == ("skipped", "the customer opted out")

    await org.admin.put(SETTINGS, json={})  # no quiet hours: it would go at once
    delivered = await org.dispatcher.post(
        f"/api/v1/orders/{order['id']}/transitions", json={"to": "delivered"}
    )
    assert delivered.status_code == 200, delivered.text
    rows = await rows_of(org, order["id"])
    assert [(r["template"], r["status"]) for r in rows] == [
        ("out_for_delivery", "skipped"),
        ("delivered", "skipped"),
    ]
    # Another order to the same number, in the same organisation: still nothing.
    other = await on_the_way(org, recipient_phone="+377600111222")
    [row] = await rows_of(org, other["id"])
    assert row["status"] == "skipped"


async def test_the_order_language_wins_over_the_organisation_default(org: Org) -> None:
    own = {"subject": "Unterwegs", "email": "Hallo", "sms": "Ihr Paket {{ reference }} kommt."}
    saved = await org.admin.put("/api/v1/notifications/templates/out_for_delivery/de", json=own)
    assert saved.status_code == 200, saved.text
    await org.admin.put(SETTINGS, json={"default_language": "fr"})
    order = await on_the_way(org, language="de")
    assert order["language"] == "de"
    [row] = await rows_of(org, order["id"])
    assert (row["language"], row["body"]) == ("de", f"Ihr Paket {order['reference']} kommt.")
    french = await on_the_way(org)  # no French text of its own: the shipped English one
    [row] = await rows_of(org, french["id"])
    assert row["language"] == "en"
    refused = await org.dispatcher.post("/api/v1/orders", json={"language": "Deutsch"})
    assert refused.status_code == 422
