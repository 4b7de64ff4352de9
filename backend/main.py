"""The FastAPI application: ``create_app()`` builds it, ``lifespan`` owns its resources."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp

from backend import __version__, error_handlers, log_redaction
from backend.auth.limits import SignInLimits
from backend.auth.router import router as auth_router
from backend.config import Settings
from backend.coordination.factory import create_leases
from backend.db import create_engine
from backend.exports.router import router as exports_router
from backend.fleet.depots import router as depots_router
from backend.fleet.driver_events import router as driver_events_router
from backend.fleet.drivers import router as drivers_router
from backend.fleet.routes import router as routes_router
from backend.fleet.vehicles import router as vehicles_router
from backend.geocoding.router import router as geocode_router
from backend.health.router import router as health_router
from backend.heap import collect_fully_every, settle_heap
from backend.intake.router import router as intake_router
from backend.kpis.router import router as kpis_router
from backend.locations.api import router as locations_router
from backend.locations.device_directory import DeviceDirectory
from backend.locations.devices import router as devices_router
from backend.locations.fanout import LocationFanOut
from backend.locations.fast_ingest import DriverBatchFastPath
from backend.locations.gps_router import router as gps_router
from backend.locations.hub import Hub
from backend.locations.ingest_ws import DriverSocket
from backend.locations.pipeline import build_pipeline
from backend.locations.sockets import LiveSockets
from backend.locations.sse import router as event_streams_router
from backend.metrics.registry import Metrics
from backend.metrics.router import router as metrics_router
from backend.migrate import upgrade
from backend.mqtt.subscriber import MqttIngest
from backend.notifications.factory import worker_for
from backend.notifications.hook import bind as bind_notices
from backend.notifications.outbox import Notices
from backend.notifications.router import router as notifications_router
from backend.optimization.dispatch_router import router as dispatch_router
from backend.optimization.jobs import Planner
from backend.optimization.router import router as optimizations_router
from backend.orders.router import router as orders_router
from backend.orgs.router import router as organization_router
from backend.pod.inbox_router import exceptions_router
from backend.pod.router import router as pod_router
from backend.ratelimit.factory import create_limiter
from backend.realtime.factory import create_broker
from backend.routing.api import router as routing_router
from backend.routing.startup import load_routing
from backend.security_headers import SecurityHeaders
from backend.spatial.postgis import spatial_path
from backend.state import AppState
from backend.tiles import router as tiles
from backend.tiles.map_api import router as map_router
from backend.tracking_links.router import router as track_router
from backend.tracking_page import router as tracking_page
from backend.webhooks.outbox import Binding as WebhookBinding
from backend.webhooks.outbox import bind as bind_webhooks
from backend.webhooks.router import router as webhooks_router
from backend.webhooks.worker import worker_for as webhook_worker_for
from backend.zones.router import router as zones_router


def sign_in_limits(settings: Settings) -> SignInLimits:
    """``login_failures_per_*`` failures per ``login_failure_window_s``, all at once."""
    per_minute = 60.0 / settings.login_failure_window_s
    by_ip, by_account = (
        create_limiter(settings, scope, n * per_minute, n)
        for scope, n in (
            ("login-ip", settings.login_failures_per_ip),
            ("login-account", settings.login_failures_per_account),
        )
    )
    return SignInLimits(by_ip, by_account)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application. Settings are read here (not at import) unless given."""
    settings = settings or Settings()
    log_redaction.install()  # tracking tokens and socket tokens are in request paths

    if settings.resolved_database_url.startswith("sqlite"):
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.resolved_database_url)
        if settings.auto_migrate:
            await upgrade(engine)
        broker = create_broker(settings)
        routing = await asyncio.to_thread(load_routing, settings)
        leases = create_leases(settings)  # jobs one worker of several runs
        locations = build_pipeline(settings, engine, broker=broker, routing=routing, leases=leases)
        await locations.start()
        fanout = LocationFanOut(broker, engine)
        await fanout.start()
        locations.fanout = fanout
        hub = Hub(broker)
        devices = DeviceDirectory(engine)
        devices.start()
        metrics = Metrics()
        metrics.watch(locations.metrics.snapshot, hub.sockets_by_audience)
        mqtt = None
        if settings.mqtt_url is not None:  # MQTT ingest, through the same pipeline
            mqtt = MqttIngest(settings, locations, devices, engine, locations.metrics)
            mqtt.start()
        planner = Planner(
            engine,
            routing,
            leases,
            default_engine=settings.optimizer_engine,
            on_finished=metrics.solved,
            stale_after_s=settings.optimization_stale_after_s,
        )
        notifier = worker_for(settings, engine)
        notifier.start()
        notices = Notices(settings, wake=notifier.wake)
        bind_notices(engine, notices)  # order changes queue customer notices
        webhooks = webhook_worker_for(settings, engine)
        webhooks.start()
        retry_for = timedelta(hours=settings.webhook_retry_for_h)
        bind_webhooks(engine, WebhookBinding(retry_for, webhooks.wake))  # events queue webhooks
        app.state.lastmile = AppState(
            settings=settings,
            engine=engine,
            broker=broker,
            routing=routing,
            devices=devices,
            locations=locations,
            fanout=fanout,
            hub=hub,
            planner=planner,
            metrics=metrics,
            notices=notices,
            notifier=notifier,
            webhooks=webhooks,
            guesses=create_limiter(
                settings,
                "tracking",
                settings.tracking_guesses_per_min,
                max(1.0, settings.tracking_guesses_per_min),
            ),
            sign_ins=sign_in_limits(settings),
            spatial=await spatial_path(engine),
        )
        settle_heap()
        full_collections = collect_fully_every(settings.gc_full_every_s)
        try:
            yield
        finally:
            if full_collections is not None:
                full_collections.cancel()
            if mqtt is not None:  # stores and acknowledges what it holds, before the pipeline
                await mqtt.close()
            await planner.close()
            await notifier.close()
            await webhooks.close()
            await hub.close()
            await devices.close()
            await locations.stop()  # commits pending fixes before the engine goes
            await fanout.close()
            routing.close()
            await broker.close()
            await leases.close()
            await app.state.lastmile.guesses.close()
            await app.state.lastmile.sign_ins.close()
            await engine.dispose()

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from installed files,
    # not from a CDN a self-hosted box may not reach.
    app: FastAPI = FastAPIOffline(
        title="Lastmile",
        version=__version__,
        summary="Self-hostable last-mile delivery: dispatch, drivers, live tracking.",
        lifespan=lifespan,
        static_url="/docs-assets",
    )
    framework_stack = app.build_middleware_stack

    def build_middleware_stack() -> ASGIApp:
        """The driver socket, the drivers' batch POST and the fleet and tracking sockets
        are answered ahead of every other middleware (each answers its own errors; see
        their modules): per request, the error, telemetry and body-limit wrappers cost more
        than storing the fixes, and per held socket the framework's layers kept ~90
        objects alive for the garbage collector to walk."""
        return DriverSocket(LiveSockets(DriverBatchFastPath(framework_stack())))

    app.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=False,
        )
    # Outside CORS: its answers (preflights too) get the headers as well.
    app.add_middleware(SecurityHeaders, hsts=settings.security_hsts)
    error_handlers.install(app)
    api = APIRouter(prefix="/api/v1")
    for router in (
        auth_router,
        orders_router,
        drivers_router,
        driver_events_router,
        vehicles_router,
        depots_router,
        zones_router,
        routes_router,
        routing_router,
        track_router,
        locations_router,
        event_streams_router,
        devices_router,
        optimizations_router,
        dispatch_router,
        organization_router,
        pod_router,
        exceptions_router,
        kpis_router,
        exports_router,
        notifications_router,
        map_router,
        geocode_router,
        webhooks_router,
        intake_router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(health_router)
    app.include_router(metrics_router)  # /metrics: Prometheus' text format
    app.include_router(gps_router)  # /gps/...: GPS apps' own protocols, not in the OpenAPI
    tracking_page.mount(app)
    tiles.mount(app, settings)
    return app
