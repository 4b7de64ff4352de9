"""What the application holds for its lifetime, built in ``lifespan`` and typed."""

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.limits import SignInLimits
from backend.auth.principal_cache import PrincipalCache
from backend.config import Settings
from backend.locations.device_directory import DeviceDirectory
from backend.locations.fanout import LocationFanOut
from backend.locations.hub import Hub
from backend.locations.pipeline import Pipeline
from backend.metrics.registry import Metrics
from backend.notifications.outbox import Notices
from backend.notifications.worker import NotificationWorker
from backend.optimization.jobs import Planner
from backend.pod.storage import ProofStore
from backend.ratelimit import Limiter
from backend.ratelimit.memory import MemoryLimiter
from backend.realtime.broker import Broker
from backend.routing.router import RoadRouter
from backend.spatial.postgis import SpatialPath
from backend.webhooks.worker import WebhookWorker


@dataclass(slots=True)
class AppState:
    settings: Settings
    engine: AsyncEngine
    broker: Broker
    routing: RoadRouter  # road engines + straight-line fallback; see backend.routing.router
    devices: DeviceDirectory  # GPS-app device -> driver, cached; see backend.locations
    locations: Pipeline  # clean → durable history → current → fan-out; .fanout may be None
    fanout: LocationFanOut  # positions to dispatchers and customers; see backend.locations
    hub: Hub  # live sockets' broker subscriptions
    planner: Planner  # planning jobs (route optimisation); see backend.optimization
    notices: Notices  # queues customer notices; see backend.notifications
    notifier: NotificationWorker  # sends them
    webhooks: WebhookWorker  # POSTs the organisations' webhooks; see backend.webhooks
    # Signed-in callers seen in the last 30 s: no database round trip per request.
    principals: PrincipalCache = field(default_factory=PrincipalCache)
    # Sockets opening at once (every customer page reconnecting after a restart) take turns
    # for the database here instead of exhausting the connection pool: a socket waits for
    # its first frame, it does not fail with a pool timeout, and HTTP requests keep
    # connections of their own.
    socket_opens: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))
    # Where proof files go: made at the first proof (see backend.pod.router.proof_store).
    proofs: ProofStore | None = None
    # Addresses sending unknown tracking tokens (see backend.tracking_links.guessing).
    guesses: Limiter = field(default_factory=MemoryLimiter)
    # Failed sign-ins per client address and per account (see backend.auth.limits).
    sign_ins: SignInLimits = field(
        default_factory=lambda: SignInLimits(MemoryLimiter(2, 10), MemoryLimiter(2, 10))
    )
    # This process's Prometheus metrics (``GET /metrics``).
    metrics: Metrics = field(default_factory=Metrics)
    # Zone and nearest-driver queries: in PostGIS when the database has it (backend.spatial).
    spatial: SpatialPath = "python"
