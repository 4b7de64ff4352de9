"""Every endpoint, for every role, over real HTTP: who may do what.

Roles: admin, dispatcher, driver (the one the objects belong to), other_driver (same
organisation, someone else's work), stranger (a dispatcher of another organisation),
anonymous (no token), customer (holds the tracking link of the world's order and presents its
token as a bearer token too: to everything but ``/track/{token}`` the link is no credential,
so the customer is expected to fare as the anonymous caller unless a row says otherwise).
"""

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.backend.world import World, build_world
from tests.factories import Org, SignIn, order_payload

ROLES = ("admin", "dispatcher", "driver", "other_driver", "stranger", "anonymous", "customer")


def expect(
    admin: int,
    dispatcher: int | None = None,
    driver: int = 403,
    other_driver: int | None = None,
    stranger: int = 404,
    anonymous: int = 401,
    customer: int | None = None,
) -> dict[str, int]:
    return {
        "admin": admin,
        "dispatcher": admin if dispatcher is None else dispatcher,
        "driver": driver,
        "other_driver": driver if other_driver is None else other_driver,
        "stranger": stranger,
        "anonymous": anonymous,
        "customer": anonymous if customer is None else customer,
    }


@dataclass
class Row:
    method: str
    route: str  # as in the OpenAPI document
    path: str  # formatted with the World's fields
    expected: dict[str, int]
    body: Callable[[Org, World], Any] | None = None
    form: bool = False
    multipart: bool = False  # body sent as multipart/form-data fields
    extra: dict[str, Any] = field(default_factory=dict)
    stream: bool = False  # an event stream: its status is read, then it is left

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def new_user(_: Org, __: World) -> dict[str, Any]:
    return {"email": "new.person@example.test", "password": "long-enough-pw", "role": "dispatcher"}


ADMIN_ONLY = expect(201, dispatcher=403)
STAFF_LIST = expect(200, stranger=200)  # a stranger lists their own (empty) organisation
ROUTING = expect(200, driver=200, stranger=200)
MONACO_A = {"lat": 43.72956, "lng": 7.41337}
MONACO_B = {"lat": 43.73077, "lng": 7.41546}
YARD = [[43.7300, 7.4200], [43.7300, 7.4210], [43.7310, 7.4210], [43.7310, 7.4200]]
_PLANNED_DAYS = itertools.count()  # a service date per planning request


def new_zone(_: object = None, __: object = None) -> dict[str, Any]:
    return {"name": "Yard", "kind": "zone", "points": YARD}


def new_webhook(_: object = None, __: object = None) -> dict[str, Any]:
    """A public literal address (no DNS), switched off: the test never sends anything."""
    return {"url": "https://93.184.215.14/hook", "event_types": ["order.created"], "enabled": False}


ROWS = [
    Row("GET", "/api/v1/auth/me", "/api/v1/auth/me", expect(200, driver=200, stranger=200)),
    Row("GET", "/api/v1/map", "/api/v1/map", expect(200, driver=200, stranger=200)),
    Row(
        "POST",
        "/api/v1/users",
        "/api/v1/users",
        expect(201, dispatcher=403, stranger=403),
        new_user,
    ),
    Row("GET", "/api/v1/users", "/api/v1/users", expect(200, dispatcher=403, stranger=403)),
    # orders
    Row("GET", "/api/v1/orders", "/api/v1/orders", expect(200, driver=200, stranger=200)),
    Row(
        "POST",
        "/api/v1/orders",
        "/api/v1/orders",
        expect(201, stranger=201),
        lambda o, w: order_payload(),
    ),
    Row(
        "POST",
        "/api/v1/orders/batch",
        "/api/v1/orders/batch",
        expect(201, stranger=201),
        lambda o, w: {"orders": [order_payload(), order_payload()]},
    ),
    Row(
        "GET",
        "/api/v1/orders/{order_id}",
        "/api/v1/orders/{own_order_id}",
        expect(200, driver=200, other_driver=404),
    ),
    Row(
        "PATCH",
        "/api/v1/orders/{order_id}",
        "/api/v1/orders/{own_order_id}",
        expect(200, other_driver=403),
        lambda o, w: {"notes": "gate code 1234"},
    ),
    Row(
        "DELETE",
        "/api/v1/orders/{order_id}",
        "/api/v1/orders/{new_order_id}",
        expect(204, driver=403),
    ),
    Row(
        "POST",
        "/api/v1/orders/{order_id}/transitions",
        "/api/v1/orders/{own_order_id}/transitions",
        expect(200, driver=200, other_driver=404),
        lambda o, w: {"to": "en_route"},
    ),
    Row(
        "POST",
        "/api/v1/orders/{order_id}/transitions",
        "/api/v1/orders/{own_order_id}/transitions",
        expect(200, driver=403, other_driver=404),
        lambda o, w: {"to": "cancelled"},
    ),
    # proof of delivery: the driver passes the role check; the order is only assigned, so
    # the lifecycle answers (409). Deliveries with proofs: tests/backend/pod/test_pod_api.py
    Row(
        "POST",
        "/api/v1/orders/{order_id}/pod",
        "/api/v1/orders/{own_order_id}/pod",
        expect(403, driver=409, other_driver=404),
        lambda o, w: {"client_id": f"role-table-{uuid.uuid4().hex[:8]}"},
        multipart=True,
    ),
    Row("GET", "/api/v1/exceptions", "/api/v1/exceptions", STAFF_LIST),
    # exceptions inbox and KPIs (issue 10): counted and computed for staff only
    Row("GET", "/api/v1/exceptions/count", "/api/v1/exceptions/count", STAFF_LIST),
    Row(  # the item exists only in the world's organisation: 404 for the stranger
        "POST",
        "/api/v1/exceptions/{key}/resolve",
        "/api/v1/exceptions/driver_silent:driver:{driver_id}:fix:none/resolve",
        expect(200),
        lambda o, w: {"note": "called"},
    ),
    Row("GET", "/api/v1/kpis", "/api/v1/kpis", STAFF_LIST),
    Row("GET", "/api/v1/kpis/drivers", "/api/v1/kpis/drivers", STAFF_LIST),
    Row("GET", "/api/v1/kpis/windows", "/api/v1/kpis/windows", STAFF_LIST),
    # webhooks: staff. The endpoints made here are disabled: nothing is ever sent.
    Row("GET", "/api/v1/webhooks", "/api/v1/webhooks", STAFF_LIST),
    Row("POST", "/api/v1/webhooks", "/api/v1/webhooks", expect(201, stranger=201), new_webhook),
    Row("GET", "/api/v1/webhooks/{webhook_id}", "/api/v1/webhooks/{webhook_id}", expect(200)),
    Row(
        "PATCH",
        "/api/v1/webhooks/{webhook_id}",
        "/api/v1/webhooks/{webhook_id}",
        expect(200),
        lambda o, w: {"description": "ERP"},
    ),
    Row("DELETE", "/api/v1/webhooks/{webhook_id}", "/api/v1/webhooks/{webhook_id}", expect(204)),
    Row(
        "GET",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        expect(200),
    ),
    Row(  # staff pass the role check; a disabled endpoint gets no test event (409)
        "POST",
        "/api/v1/webhooks/{webhook_id}/test",
        "/api/v1/webhooks/{webhook_id}/test",
        expect(409),
    ),
    Row(  # staff pass the role check; no such delivery (404)
        "POST",
        "/api/v1/webhooks/deliveries/{delivery_id}/retry",
        "/api/v1/webhooks/deliveries/999999999/retry",
        expect(404),
    ),
    # geocoding: staff pass the role check; the test server has no geocoder (409)
    Row("GET", "/api/v1/geocode", "/api/v1/geocode?q=Monaco", expect(409, stranger=409)),
    # exports (issue 11): staff; a stranger exports their own (empty) organisation
    Row("GET", "/api/v1/exports/orders.csv", "/api/v1/exports/orders.csv", STAFF_LIST),
    Row("GET", "/api/v1/exports/events.csv", "/api/v1/exports/events.csv", STAFF_LIST),
    Row(
        "GET",
        "/api/v1/exports/routes/{route_id}.geojson",
        "/api/v1/exports/routes/{own_route_id}.geojson",
        expect(200),
    ),
    Row(
        "GET",
        "/api/v1/exports/routes/{route_id}.gpx",
        "/api/v1/exports/routes/{own_route_id}.gpx",
        expect(200),
    ),
    Row(  # the driver passes the role check; an assigned order cannot fail yet (409)
        "POST",
        "/api/v1/orders/{order_id}/failure",
        "/api/v1/orders/{own_order_id}/failure",
        expect(403, driver=409, other_driver=404),
        lambda o, w: {"client_id": f"role-table-{uuid.uuid4().hex[:8]}", "reason": "not_home"},
        multipart=True,
    ),
    Row(  # past the role check, a code that is nobody's parcel is refused (422)
        "POST",
        "/api/v1/orders/{order_id}/scans",
        "/api/v1/orders/{own_order_id}/scans",
        expect(422, driver=422, other_driver=404),
        lambda o, w: {"codes": ["NOT-A-PARCEL"]},
        multipart=True,
    ),
    Row(
        "GET",
        "/api/v1/orders/{order_id}/pod/verify",
        "/api/v1/orders/{own_order_id}/pod/verify",
        expect(404, driver=404, other_driver=404),  # known to each, but no proof yet
    ),
    Row(  # what the customer was told: staff only
        "GET",
        "/api/v1/orders/{order_id}/notifications",
        "/api/v1/orders/{own_order_id}/notifications",
        expect(200),
    ),
    Row(
        "GET",
        "/api/v1/orders/{order_id}/events",
        "/api/v1/orders/{own_order_id}/events",
        expect(200, driver=200, other_driver=404),
    ),
    Row(
        "POST",
        "/api/v1/orders/{order_id}/tracking-links",
        "/api/v1/orders/{own_order_id}/tracking-links",
        expect(201),
        lambda o, w: {},
    ),
    # planning: the job fails in the background (its order is already on a route), unharmed;
    # a day per request (one plan of a day runs at a time: the next would be a 409)
    Row(
        "POST",
        "/api/v1/optimizations",
        "/api/v1/optimizations",
        expect(202, stranger=400),
        lambda o, w: {
            "service_date": (
                datetime.now(UTC).date() + timedelta(days=next(_PLANNED_DAYS))
            ).isoformat(),
            "order_ids": [w.own_order_id],
            "depot_id": w.depot_id,
            "time_budget_s": 0.5,
        },
    ),
    Row("GET", "/api/v1/optimizations/{job_id}", "/api/v1/optimizations/none", expect(404)),
    Row(
        "POST",
        "/api/v1/optimizations/{job_id}/cancel",
        "/api/v1/optimizations/none/cancel",
        expect(404),
    ),
    Row(
        "GET",
        "/api/v1/optimizations/{job_id}/comparison",
        "/api/v1/optimizations/none/comparison",
        expect(404),
    ),
    Row(
        "POST",
        "/api/v1/optimizations/{job_id}/publish",
        "/api/v1/optimizations/none/publish",
        expect(404),
    ),
    # the organisation
    Row(
        "GET",
        "/api/v1/organization",
        "/api/v1/organization",
        expect(200, driver=200, stranger=200),
    ),
    Row(
        "PATCH",
        "/api/v1/organization",
        "/api/v1/organization",
        expect(200, dispatcher=403, stranger=403),
        lambda o, w: {"auto_dispatch": False},
    ),
    # customer-notice settings and templates: admins
    Row(
        "GET",
        "/api/v1/notifications/settings",
        "/api/v1/notifications/settings",
        expect(200, dispatcher=403, stranger=403),
    ),
    Row(
        "PUT",
        "/api/v1/notifications/settings",
        "/api/v1/notifications/settings",
        expect(200, dispatcher=403, stranger=403),
        lambda o, w: {},
    ),
    Row(
        "GET",
        "/api/v1/notifications/templates/{key}/{language}",
        "/api/v1/notifications/templates/delivered/en",
        expect(200, dispatcher=403, stranger=403),
    ),
    Row(
        "PUT",
        "/api/v1/notifications/templates/{key}/{language}",
        "/api/v1/notifications/templates/delivered/en",
        expect(200, dispatcher=403, stranger=403),
        lambda o, w: {"subject": "Delivered", "email": "{{ reference }}", "sms": "Delivered"},
    ),
    Row(  # the organisation has no own text in that language
        "DELETE",
        "/api/v1/notifications/templates/{key}/{language}",
        "/api/v1/notifications/templates/delivered/xx",
        expect(404, dispatcher=403, stranger=403),
    ),
    # live dispatch (the world's routes are drafts: nothing is placed or changed)
    Row(
        "POST",
        "/api/v1/dispatch/placements",
        "/api/v1/dispatch/placements",
        expect(200),
        lambda o, w: {"order_id": w.new_order_id, "apply": True},
    ),
    Row("POST", "/api/v1/dispatch/auto", "/api/v1/dispatch/auto", expect(200, stranger=200)),
    Row(  # a driver's day previewed (nothing applied); another organisation's driver: 404
        "POST",
        "/api/v1/dispatch/changes",
        "/api/v1/dispatch/changes",
        expect(200),
        lambda o, w: {"driver_id": o.driver_ids[0]},
    ),
    Row(
        "POST",
        "/api/v1/dispatch/delays",
        "/api/v1/dispatch/delays",
        expect(200, driver=200, other_driver=404),
        lambda o, w: {"route_id": w.own_route_id, "minutes": 5},
    ),
    # drivers
    Row("GET", "/api/v1/drivers", "/api/v1/drivers", STAFF_LIST),
    Row(
        "POST",
        "/api/v1/drivers",
        "/api/v1/drivers",
        expect(201, dispatcher=403, stranger=403),
        lambda o, w: {"name": "New Driver"},
    ),
    Row("GET", "/api/v1/drivers/me", "/api/v1/drivers/me", expect(403, driver=200, stranger=403)),
    Row(
        "PUT",
        "/api/v1/drivers/me/status",
        "/api/v1/drivers/me/status",
        expect(403, driver=200, stranger=403),
        lambda o, w: {"status": "idle"},
    ),
    Row("GET", "/api/v1/drivers/{driver_id}", "/api/v1/drivers/{driver_id}", expect(200)),
    Row(
        "PATCH",
        "/api/v1/drivers/{driver_id}",
        "/api/v1/drivers/{driver_id}",
        expect(200),
        lambda o, w: {"phone": "+377 600 111"},
    ),
    Row(
        "DELETE",
        "/api/v1/drivers/{driver_id}",
        "/api/v1/drivers/{idle_driver_id}",
        expect(204, dispatcher=403, stranger=403),
    ),
    # devices (GPS apps bound to a driver)
    Row(
        "POST",
        "/api/v1/drivers/{driver_id}/devices",
        "/api/v1/drivers/{driver_id}/devices",
        expect(201),
        lambda o, w: {"identifier": f"rt-{uuid.uuid4().hex}"},
    ),
    Row(
        "GET",
        "/api/v1/drivers/{driver_id}/devices",
        "/api/v1/drivers/{driver_id}/devices",
        expect(200),
    ),
    Row(
        "DELETE",
        "/api/v1/drivers/{driver_id}/devices/{device_id}",
        "/api/v1/drivers/{driver_id}/devices/{device_id}",
        expect(204),
    ),
    # vehicles
    Row("GET", "/api/v1/vehicles", "/api/v1/vehicles", STAFF_LIST),
    Row(
        "POST",
        "/api/v1/vehicles",
        "/api/v1/vehicles",
        expect(201, dispatcher=403, stranger=403),
        lambda o, w: {"name": "Van 9"},
    ),
    Row("GET", "/api/v1/vehicles/{vehicle_id}", "/api/v1/vehicles/{vehicle_id}", expect(200)),
    Row(
        "PATCH",
        "/api/v1/vehicles/{vehicle_id}",
        "/api/v1/vehicles/{vehicle_id}",
        expect(200, dispatcher=403, stranger=403),
        lambda o, w: {"skills": ["fridge"]},
    ),
    Row(
        "DELETE",
        "/api/v1/vehicles/{vehicle_id}",
        "/api/v1/vehicles/{vehicle_id}",
        expect(204, dispatcher=403, stranger=403),
    ),
    # depots
    Row("GET", "/api/v1/depots", "/api/v1/depots", STAFF_LIST),
    Row(
        "POST",
        "/api/v1/depots",
        "/api/v1/depots",
        expect(201, dispatcher=403, stranger=403),
        lambda o, w: {"name": "North hub", "lat": 43.74, "lng": 7.43},
    ),
    Row("GET", "/api/v1/depots/{depot_id}", "/api/v1/depots/{depot_id}", expect(200)),
    # zones (read: staff; draw, change, remove: admins)
    Row("GET", "/api/v1/zones", "/api/v1/zones", STAFF_LIST),
    Row(
        "POST",
        "/api/v1/zones",
        "/api/v1/zones",
        expect(201, dispatcher=403, stranger=403),
        new_zone,
    ),
    Row("GET", "/api/v1/zones/{zone_id}", "/api/v1/zones/{zone_id}", expect(200)),
    Row(
        "PATCH",
        "/api/v1/zones/{zone_id}",
        "/api/v1/zones/{zone_id}",
        expect(200, dispatcher=403, stranger=403),
        lambda o, w: {"name": "Renamed yard"},
    ),
    Row(
        "DELETE",
        "/api/v1/zones/{zone_id}",
        "/api/v1/zones/{zone_id}",
        expect(204, dispatcher=403, stranger=403),
    ),
    # routes
    Row("GET", "/api/v1/routes", "/api/v1/routes", expect(200, driver=200, stranger=200)),
    Row(
        "POST",
        "/api/v1/routes",
        "/api/v1/routes",
        expect(201, stranger=400),
        lambda o, w: {"driver_id": o.driver_ids[0], "service_date": "2030-01-02"},
    ),
    Row(
        "GET",
        "/api/v1/routes/{route_id}",
        "/api/v1/routes/{own_route_id}",
        expect(200, driver=200, other_driver=404),
    ),
    Row(
        "PATCH",
        "/api/v1/routes/{route_id}",
        "/api/v1/routes/{own_route_id}",
        expect(200),
        lambda o, w: {"status": "published"},
    ),
    Row("DELETE", "/api/v1/routes/{route_id}", "/api/v1/routes/{own_route_id}", expect(204)),
    # routing: any signed-in user, whatever the organisation (no stored data involved)
    *[
        Row("POST", f"/api/v1/routing/{name}", f"/api/v1/routing/{name}", ROUTING, body)
        for name, body in (
            ("route", lambda o, w: {"waypoints": [MONACO_A, MONACO_B]}),
            ("matrix", lambda o, w: {"sources": [MONACO_A, MONACO_B]}),
            ("nearest", lambda o, w: {"point": MONACO_A}),
            ("match", lambda o, w: {"points": [MONACO_A, MONACO_B]}),
        )
    ],
    # locations: the app's batch, fleet positions and nearest drivers, history, day exports,
    # pipeline metrics
    Row(
        "POST",
        "/api/v1/drivers/me/locations",
        "/api/v1/drivers/me/locations",
        expect(403, driver=200, stranger=403),
        lambda o, w: [{"lat": 43.73, "lng": 7.42, "recorded_at": datetime.now(UTC).isoformat()}],
    ),
    Row("GET", "/api/v1/fleet/positions", "/api/v1/fleet/positions", STAFF_LIST),
    # live Server-Sent Events: the fleet socket's roles (a stranger streams their own org)
    Row("GET", "/api/v1/fleet/events", "/api/v1/fleet/events", STAFF_LIST, stream=True),
    Row("GET", "/api/v1/fleet/nearest", "/api/v1/fleet/nearest?lat=43.73&lng=7.42", STAFF_LIST),
    Row(
        "GET",
        "/api/v1/fleet/metrics",
        "/api/v1/fleet/metrics",
        expect(200, dispatcher=403, stranger=403),
    ),
    *[
        Row(
            "GET",
            f"/api/v1/drivers/{{driver_id}}/{name}",
            f"/api/v1/drivers/{{driver_id}}/{name}",
            expect(200),
        )
        for name in ("locations", "locations.gpx", "locations.geojson", "events")
    ],
    # the customer's view and health are public
    Row(
        "GET",
        "/api/v1/track/{token}",
        "/api/v1/track/{token}",
        expect(200, driver=200, stranger=200, anonymous=200),
    ),
    Row(  # the tracking socket's stream: the token in the path is the credential
        "GET",
        "/api/v1/track/{token}/events",
        "/api/v1/track/{token}/events",
        expect(200, driver=200, stranger=200, anonymous=200),
        stream=True,
    ),
    # self-service through the link: the token is the credential, whoever holds it
    Row(
        "GET",
        "/api/v1/track/{token}/slots",
        "/api/v1/track/{token}/slots",
        expect(200, driver=200, stranger=200, anonymous=200),
    ),
    Row(
        "PUT",
        "/api/v1/track/{token}/instructions",
        "/api/v1/track/{token}/instructions",
        expect(200, driver=200, stranger=200, anonymous=200),
        lambda o, w: {"option": "gate_code", "text": "4821"},
    ),
    Row(  # a slot that was never offered: refused the same for everyone (422)
        "PUT",
        "/api/v1/track/{token}/window",
        "/api/v1/track/{token}/window",
        expect(422, driver=422, stranger=422, anonymous=422),
        lambda o, w: {"start": "2020-01-01T08:00:00Z", "end": "2020-01-01T10:00:00Z"},
    ),
    Row(  # the order is not delivered yet: refused the same for everyone (409)
        "POST",
        "/api/v1/track/{token}/rating",
        "/api/v1/track/{token}/rating",
        expect(409, driver=409, stranger=409, anonymous=409),
        lambda o, w: {"stars": 5},
    ),
    Row(  # no more notices to this customer: whoever holds the link
        "POST",
        "/api/v1/track/{token}/opt-out",
        "/api/v1/track/{token}/opt-out",
        expect(200, driver=200, stranger=200, anonymous=200),
    ),
    Row(  # no delivery photo yet: the same for everyone (404)
        "GET",
        "/api/v1/track/{token}/proof/photo",
        "/api/v1/track/{token}/proof/photo",
        expect(404, driver=404, stranger=404, anonymous=404),
    ),
    # shop order intake: the shop's signature is the credential, no role signs (401 for all)
    *[
        Row(
            "POST",
            f"/api/v1/intake/{shop}/{{org_slug}}",
            f"/api/v1/intake/{shop}/{{org_slug}}",
            expect(401, driver=401, stranger=401, anonymous=401),
            lambda o, w: {"id": 1, "name": "#1001"},
        )
        for shop in ("shopify", "woocommerce")
    ],
    Row("GET", "/health", "/health", expect(200, driver=200, stranger=200, anonymous=200)),
    # open unless LASTMILE_METRICS_TOKEN is set (see test_metrics_api.py)
    Row("GET", "/metrics", "/metrics", expect(200, driver=200, stranger=200, anonymous=200)),
]
# Public by design, each with its own tests in test_auth.py.
PUBLIC_ELSEWHERE = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
}


def test_every_endpoint_is_in_the_table(base_url: str) -> None:
    spec = httpx.get(f"{base_url}/openapi.json").json()
    served = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    covered = {(r.method, r.route) for r in ROWS} | PUBLIC_ELSEWHERE
    assert served == covered


async def _idle_driver(org: Org) -> int:
    response = await org.admin.post("/api/v1/drivers", json={"name": "Spare Driver"})
    assert response.status_code == 201
    driver_id: int = response.json()["id"]
    return driver_id


async def _zone(org: Org) -> int:
    response = await org.admin.post("/api/v1/zones", json=new_zone())
    assert response.status_code == 201, response.text
    zone_id: int = response.json()["id"]
    return zone_id


async def _webhook(org: Org) -> int:
    response = await org.admin.post("/api/v1/webhooks", json=new_webhook())
    assert response.status_code == 201, response.text
    webhook_id: int = response.json()["id"]
    return webhook_id


async def _device(org: Org) -> int:
    response = await org.admin.post(
        f"/api/v1/drivers/{org.driver_ids[0]}/devices", json={"identifier": uuid.uuid4().hex}
    )
    assert response.status_code == 201, response.text
    device_id: int = response.json()["id"]
    return device_id


def _client(
    role: str, org: Org, stranger: Org, anonymous: httpx.AsyncClient, customer: httpx.AsyncClient
) -> httpx.AsyncClient:
    return {
        "admin": org.admin,
        "dispatcher": org.dispatcher,
        "driver": org.driver,
        "other_driver": org.driver2,
        "stranger": stranger.dispatcher,
        "anonymous": anonymous,
        "customer": customer,
    }[role]


async def _stream_status(
    client: httpx.AsyncClient, method: str, path: str, base_url: str
) -> httpx.Response:
    """An event stream's answer (its body only if refused), on a client of its own: the
    sign-in auth flow would read the endless body."""
    headers = dict(client.headers)
    if isinstance(client.auth, SignIn):
        if client.auth.token is None:
            await client.get("/api/v1/auth/me")  # signs in
        headers["Authorization"] = f"Bearer {client.auth.token}"
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as plain,
        plain.stream(method, path) as response,
    ):
        if response.status_code >= 400:
            await response.aread()
    return response


def _fresh_world_for(role: str, row: Row) -> bool:
    """A write gets fresh objects for each role, so one role's write can't hide another's;
    the customer is refused everything but their link, so other rows reuse the last world."""
    if row.method == "GET":
        return False
    return role != "customer" or row.route.startswith("/api/v1/track/")


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
async def test_role_table(row: Row, shared_org: Org, stranger: Org, base_url: str) -> None:
    org = shared_org
    outcomes = {}
    world = await build_world(org)
    async with (
        httpx.AsyncClient(base_url=base_url) as anonymous,
        httpx.AsyncClient(base_url=base_url) as customer,
    ):
        for role in ROLES:
            if _fresh_world_for(role, row):
                world = await build_world(org)
            # The customer's own link: in the path of /track rows, and as a bearer token.
            customer.headers["Authorization"] = f"Bearer {world.token}"
            fields = {**vars(world), "driver_id": org.driver_ids[0], "org_slug": org.slug}
            if "{idle_driver_id}" in row.path:
                fields["idle_driver_id"] = await _idle_driver(org)
            if "{device_id}" in row.path:
                fields["device_id"] = await _device(org)
            if "{zone_id}" in row.path:
                fields["zone_id"] = await _zone(org)
            if "{webhook_id}" in row.path:
                fields["webhook_id"] = await _webhook(org)
            path = row.path.format(**fields)
            body = row.body(org, world) if row.body else None
            if row.route == "/api/v1/users" and row.method == "POST":  # emails are unique
                body = {**new_user(org, world), "email": f"{role}.{world.own_order_id}@x.test"}
            client = _client(role, org, stranger, anonymous, customer)
            if row.stream:
                response = await _stream_status(client, row.method, path, base_url)
            elif row.multipart:
                files = {"_": ("", b"", "application/octet-stream")}  # forces multipart
                response = await client.request(row.method, path, data=body, files=files)
            else:
                response = await client.request(row.method, path, json=body)
            outcomes[role] = response.status_code
            if response.status_code >= 400:
                error = response.json()["error"]
                assert error["code"], response.text
                assert error["message"], response.text
    assert outcomes == row.expected


async def test_a_customer_link_shows_its_own_order_and_no_other(shared_org: Org) -> None:
    """The token in the path alone picks the order: a customer presenting their own link as
    a bearer token on another order's link sees that order, never theirs; a made-up token
    (or their own token anywhere but the path) shows nothing."""
    mine, theirs = await build_world(shared_org), await build_world(shared_org)
    own = (await shared_org.admin.get(f"/api/v1/orders/{mine.own_order_id}")).json()
    other = (await shared_org.admin.get(f"/api/v1/orders/{theirs.own_order_id}")).json()
    base_url = str(shared_org.admin.base_url)
    bearer = {"Authorization": f"Bearer {mine.token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=bearer) as customer:
        seen = await customer.get(f"/api/v1/track/{mine.token}")
        assert seen.status_code == 200
        assert seen.json()["order_reference"] == own["reference"]
        elsewhere = await customer.get(f"/api/v1/track/{theirs.token}")
        assert elsewhere.status_code == 200
        assert elsewhere.json()["order_reference"] == other["reference"]
        assert elsewhere.json()["address"] == other["stops"][0]["address"]
        assert elsewhere.json()["address"] != own["stops"][0]["address"]
        unknown = await customer.get(f"/api/v1/track/{mine.token[:-2]}xx")
        assert unknown.status_code == 404
        assert "order_reference" not in unknown.text
        assert (await customer.get(f"/api/v1/orders/{mine.own_order_id}")).status_code == 401
