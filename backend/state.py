"""What the application holds for its lifetime, built in ``lifespan`` and typed."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.config import Settings
from backend.realtime.broker import Broker
from backend.routing.router import RoadRouter


@dataclass(slots=True)
class AppState:
    settings: Settings
    engine: AsyncEngine
    broker: Broker
    routing: RoadRouter  # road engines + straight-line fallback; see backend.routing.router
