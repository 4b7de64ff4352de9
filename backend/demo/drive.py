"""The live demo fleet: virtual drivers drive today's published routes through the real API.

Each driver is a client of the HTTP API, exactly as the driver app is: it signs in, goes on
shift, reads today's routes and their orders, and drives along the roads (the simulator's
trajectory, routed by the server's ``/routing/route``), sending its phone's fixes in
batches every few real seconds. At each stop it arrives (unless the server's geofencing
already said so), hands in the proofs the order requires and delivers; the deliveries drawn
to fail get a failure report with a real reason, and the dispatcher reschedules them to the
next day, as the exceptions inbox does.

The clock: ``speed`` simulated seconds per real second. Fixes carry real timestamps (the
server refuses fixes from the future), so at ``speed`` N the phone seems N times faster:
the server's impossible-speed filter must allow it (the demo raises it).
"""

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from backend.demo.fleet_plan import (
    PlayClock,
    StopTodo,
    as_route,
    choose_failures,
    failure_for,
    forward_path,
    next_day_window,
    plan_for,
    stops_to_drive,
)
from backend.demo.proofs import Handover, handover
from backend.simulator.gps import GpsConfig
from backend.simulator.runner import DriverRun, SimulationConfig, build_run
from shared.api_client import ApiClient, ApiError
from shared.enums import DriverStatus, OrderStatus, StopKind
from shared.failures import FailureReason
from shared.geo import Point
from shared.schemas.common import TimeWindow
from shared.schemas.exceptions import ExceptionKind
from shared.schemas.fleet import RouteOut
from shared.schemas.locations import FixIn
from shared.schemas.orders import OrderOut, OrderUpdate, StopIn, TransitionRequest

log = logging.getLogger(__name__)

S = OrderStatus
EventSink = Callable[[str], None]
_PAGE = 500  # the server's largest page, and its largest batch of fixes
# Back to planning before the new window is set (as the dispatcher app's inbox does): a
# failed order is rescheduled; one its follow-up put back on today's route comes off it.
_UNPLAN = {S.FAILED: S.RESCHEDULED, S.ASSIGNED: S.CREATED}


class FleetError(Exception):
    """Some drivers could not finish their route; ``errors`` says why, per driver."""

    def __init__(self, errors: dict[str, BaseException]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{who}: {exc!r}" for who, exc in errors.items()))


@dataclass(slots=True)
class _Fleet:
    """What every driver shares: the dispatcher's session and what it read at the start."""

    dispatcher: ApiClient
    day: date
    seed: int
    failing: frozenset[int]
    starts: dict[int, Point]  # driver id: last known position, else their depot
    emit: EventSink
    gps: GpsConfig
    upload_every_s: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one dispatcher call at a time


async def drive_fleet(
    api_url: str,
    drivers: Sequence[tuple[str, str]],
    *,
    dispatcher: tuple[str, str],
    speed: float = 1.0,
    seed: int = 0,
    fail_share: float = 0.06,
    on_event: Callable[[str], None] | None = None,
    service_date: date | None = None,
    upload_every_s: float = 2.0,
    gps_interval_s: float = 5.0,
) -> None:
    """Drive every listed driver's routes of ``service_date`` (today, UTC) to the end.

    ``speed``: simulated seconds per real second. ``fail_share`` of the day's deliveries
    (rounded up) fail and are rescheduled, drawn by ``seed``. Stops already finished (a
    restarted demo) are skipped; a driver sets off from their last known position, else
    their vehicle's depot, else their first stop. Fixes go up every ``upload_every_s``
    real seconds, one per ``gps_interval_s`` simulated seconds. Cancelling stops every
    driver and closes the HTTP clients. A driver whose run fails does not stop the others:
    :class:`FleetError` at the end says which failed and why.
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    emit: EventSink = on_event or (lambda line: None)
    day = service_date or datetime.now(UTC).date()
    async with ApiClient(api_url) as staff:
        await staff.login(*dispatcher)
        fleet = _Fleet(
            dispatcher=staff,
            day=day,
            seed=seed,
            failing=choose_failures(await _day_orders(staff, day), fail_share, seed),
            starts=await _starts(staff, day),
            emit=emit,
            gps=GpsConfig(interval_s=gps_interval_s),
            upload_every_s=upload_every_s,
        )
        errors: dict[str, BaseException] = {}

        async def one(email: str, password: str) -> None:
            try:
                await _Driver(api_url, email, password, fleet, speed).run()
            except Exception as exc:  # one driver's trouble must not stop the fleet
                log.exception("demo driver %s stopped", email)
                emit(f"{email} stopped: {exc}")
                errors[email] = exc

        async with asyncio.TaskGroup() as group:
            for email, password in drivers:
                group.create_task(one(email, password))
    if errors:
        raise FleetError(errors)


async def _day_orders(staff: ApiClient, day: date) -> list[int]:
    """Every drop-off's order on the day's routes (done ones too: the draw must not change
    when the demo restarts half-way)."""
    return [
        s.order_id
        for route in await _routes(staff, day)
        for s in route.stops
        if s.kind is StopKind.DROPOFF
    ]


async def _routes(client: ApiClient, day: date, driver_id: int | None = None) -> list[RouteOut]:
    routes: list[RouteOut] = []
    while True:
        page = await client.list_routes(
            service_date=day, driver_id=driver_id, limit=100, offset=len(routes)
        )
        routes.extend(page.items)
        if not page.items or len(routes) >= page.total:
            return routes


async def _starts(staff: ApiClient, day: date) -> dict[int, Point]:
    """Each driver's last known position; their vehicle's depot when there is none."""
    depots = {d.id: Point(d.lat, d.lng) for d in (await staff.list_depots(limit=100)).items}
    vehicles = {v.id: v.depot_id for v in (await staff.list_vehicles(limit=100)).items}
    drivers = {d.id: d.vehicle_id for d in (await staff.list_drivers(limit=100)).items}
    starts: dict[int, Point] = {}
    for route in await _routes(staff, day):
        vehicle = route.vehicle_id or drivers.get(route.driver_id)
        depot = vehicles.get(vehicle) if vehicle is not None else None
        if depot is not None and depot in depots:
            starts.setdefault(route.driver_id, depots[depot])
    for position in await staff.fleet_positions():
        starts[position.driver_id] = Point(position.lat, position.lng)
    return starts


class _Driver:
    """One virtual driver with their phone: a signed-in API client and a GPS."""

    def __init__(
        self, api_url: str, email: str, password: str, fleet: _Fleet, speed: float
    ) -> None:
        self.api_url, self.email, self.password = api_url, email, password
        self.fleet, self.speed = fleet, speed
        self.status: DriverStatus | None = None
        self.position: Point | None = None

    async def run(self) -> None:
        async with ApiClient(self.api_url) as client:
            self.client = client
            await client.login(self.email, self.password)
            self.me = await client.my_driver()
            self.status = self.me.status
            routes = await _routes(client, self.fleet.day, self.me.id)
            routes = sorted(
                (r for r in routes if r.driver_id == self.me.id),
                key=lambda r: (r.planned_start_at or datetime.max.replace(tzinfo=UTC), r.id),
            )
            if not routes:
                self._say("has no route today")
                return
            self.position = self.fleet.starts.get(self.me.id)
            await self._set_status(DriverStatus.IDLE)  # on shift
            for route in routes:
                await self._drive_route(route)
            await self._set_status(DriverStatus.IDLE)
            self._say("finished for the day")

    def _say(self, text: str) -> None:
        self.fleet.emit(f"driver {self.me.id} ({self.me.name}) {text}")

    async def _set_status(self, status: DriverStatus) -> None:
        if status is not self.status:
            self.me = await self.client.set_my_status(status)
            self.status = status

    async def _orders_on(self, route_id: int) -> dict[int, OrderOut]:
        orders: list[OrderOut] = []
        while True:
            page = await self.client.list_orders(route_id=route_id, limit=_PAGE, offset=len(orders))
            orders.extend(page.items)
            if not page.items or len(orders) >= page.total:
                return {o.id: o for o in orders}

    async def _drive_route(self, route: RouteOut) -> None:
        todo = stops_to_drive(route, await self._orders_on(route.id))
        if not todo:
            return
        start = self.position or todo[0].point
        plan = plan_for(self.me.id, start, todo, datetime.now(UTC))
        road = await self.client.road_route([(p.lat, p.lng) for p in plan.waypoints])
        config = SimulationConfig(seed=self.fleet.seed, gps=self.fleet.gps)
        run = await asyncio.to_thread(build_run, plan, as_route(road), config)
        clock = PlayClock(datetime.now(UTC), self.speed)  # the drive starts now
        done = len(route.stops) - len(todo)
        self._say(
            f"sets off on route {route.id}: {len(todo)} stops"
            + (f" ({done} already done)" if done else "")
            + f", {road.distance_m / 1000:.1f} km"
        )
        phone = _Phone(self.client, run, clock, self.fleet.upload_every_s)
        truth = run.trajectory
        for stop, visit in zip(todo, truth.visits, strict=True):
            await self._set_status(DriverStatus.EN_ROUTE)
            await self._move(stop, S.EN_ROUTE_TO_PICKUP if stop.pickup else S.EN_ROUTE)
            await phone.until(visit.arrived_s)
            # Where the app says it is (its fused fix at rest, not a stray outlier).
            self.position = truth.position_at(visit.arrived_s).point
            await self._set_status(DriverStatus.DELIVERING)
            if not stop.pickup:
                await self._move(stop, S.ARRIVING)
            self._say(f"arrived at {_ref(stop.order)}")
            await phone.until(visit.departed_s)
            await self._finish(stop)
        await phone.until(truth.duration_s)
        self.position = truth.position_at(truth.duration_s).point

    async def _move(self, stop: StopTodo, target: OrderStatus) -> OrderOut:
        """Take the order to ``target`` (the app's buttons), unless it is there or past it
        already (the geofencing moved it: a conflict means it did so meanwhile, read it
        again)."""
        for _ in range(3):
            order = await self.client.get_order(stop.order.id)
            pickup = any(s.kind is StopKind.PICKUP for s in order.stops)
            path = forward_path(order.status, target, pickup=pickup)
            try:
                for status in path:
                    lat, lng = self._where()
                    order = await self.client.transition(
                        order.id, TransitionRequest(to=status, lat=lat, lng=lng)
                    )
                return order
            except ApiError as exc:
                if exc.status != 409:
                    raise
        return await self.client.get_order(stop.order.id)

    def _where(self) -> tuple[float | None, float | None]:
        return (self.position.lat, self.position.lng) if self.position else (None, None)

    async def _finish(self, stop: StopTodo) -> None:
        order, ref = stop.order, _ref(stop.order)
        if stop.pickup:
            await self._move(stop, S.PICKED_UP)
            self._say(f"picked up {ref}")
            return
        proof = handover(order)
        if order.id in self.fleet.failing or isinstance(proof, str):
            reason, note = failure_for(order.id, self.fleet.seed)
            if isinstance(proof, str):
                reason, note = FailureReason.OTHER, proof.capitalize() + "."
            await self._fail(order, reason, note)
            return
        await self._deliver(order, proof)

    async def _deliver(self, order: OrderOut, proof: Handover) -> None:
        lat, lng = self._where()
        await self.client.record_pod(
            order.id,
            uuid.uuid4().hex,
            photos=proof.photos,
            signature_png=proof.signature_png,
            recipient_name=proof.recipient_name,
            barcodes=proof.barcodes or None,
            age_checked=proof.age_checked,
            lat=lat,
            lng=lng,
        )
        self._say(f"delivered {_ref(order)}")

    async def _fail(self, order: OrderOut, reason: FailureReason, note: str) -> None:
        lat, lng = self._where()
        report = await self.client.report_failure(
            order.id,
            uuid.uuid4().hex,
            reason=reason.value,
            note=note,
            lat=lat,
            lng=lng,
        )
        self._say(f"could not deliver {_ref(order)}: {reason.value} ({report.follow_up})")
        async with self.fleet.lock:
            words = await reschedule(self.fleet.dispatcher, order.id, datetime.now(UTC))
        self.fleet.emit(f"dispatch rescheduled {_ref(order)} to {words}")


def _ref(order: OrderOut) -> str:
    return order.reference or f"order {order.id}"


async def reschedule(dispatcher: ApiClient, order_id: int, now: datetime) -> str:
    """Dispatch gives a failed order the same window on the next day, as the exceptions
    inbox's Reschedule does, and marks the failure resolved; the new window in words."""
    order = await dispatcher.get_order(order_id)
    target = _UNPLAN.get(order.status)
    if target is not None:
        await dispatcher.transition(
            order_id,
            TransitionRequest(to=target, reason="rescheduled by dispatch after a failed delivery"),
        )
    dropoff = next(s for s in order.stops if s.kind is StopKind.DROPOFF)
    start, end = next_day_window(dropoff.window_start, dropoff.window_end, now)
    stop = StopIn(
        address=dropoff.address,
        lat=dropoff.lat,
        lng=dropoff.lng,
        time_window=TimeWindow(start=start, end=end),
        service_time_s=dropoff.service_time_s,
        arrival_radius_m=dropoff.arrival_radius_m,
    )
    await dispatcher.update_order(order_id, OrderUpdate(dropoff=stop))
    words = f"{start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC"
    for item in await dispatcher.exceptions(limit=200):
        if item.order_id == order_id and item.kind is ExceptionKind.FAILED_DELIVERY:
            await dispatcher.resolve_exception(item.key, f"rescheduled to {words}")
    return words


class _Phone:
    """The driver's phone: the run's fixes, sent as their (real) time comes, in a batch
    every ``upload_every_s`` real seconds."""

    def __init__(
        self, client: ApiClient, run: DriverRun, clock: PlayClock, upload_every_s: float
    ) -> None:
        self._client = client
        self._clock = clock
        self._upload_every = timedelta(seconds=upload_every_s)
        start = run.trajectory.start_at
        self._fixes = [
            clock.fix_in(f.fix, (f.fix.recorded_at - start).total_seconds()) for f in run.fixes
        ]
        self._sent = 0
        self._last_upload = clock.real_start_at - self._upload_every  # the first fix at once

    async def until(self, sim_s: float) -> None:
        """Wait until ``sim_s`` simulated seconds into the drive, uploading on the way;
        then send every fix up to that moment."""
        target = self._clock.real_at(sim_s)
        while (now := datetime.now(UTC)) < target:
            wake = min(target, self._last_upload + self._upload_every)
            await asyncio.sleep(max((wake - now).total_seconds(), 0.0))
            now = datetime.now(UTC)
            if now >= self._last_upload + self._upload_every:
                await self._send(now)
        await self._send(target)

    async def _send(self, upto: datetime) -> None:
        self._last_upload = datetime.now(UTC)
        end = self._sent
        while end < len(self._fixes) and self._fixes[end].recorded_at <= upto:
            end += 1
        while self._sent < end:
            batch: list[FixIn] = self._fixes[self._sent : min(end, self._sent + _PAGE)]
            await self._client.send_fixes(batch)
            self._sent += len(batch)
