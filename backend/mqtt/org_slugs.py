"""Organisation id -> slug, cached (our app's topics name the organisation by its slug)."""

import time

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import session_scope
from backend.models.organization import Organization


class OrgSlugs:
    def __init__(self, engine: AsyncEngine, ttl_s: float = 300.0) -> None:
        self._engine = engine
        self._ttl_s = ttl_s
        self._slugs: dict[int, tuple[float, str | None]] = {}

    async def slug_of(self, org_id: int) -> str | None:
        now = time.monotonic()
        cached = self._slugs.get(org_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with session_scope(self._engine) as session:
            slug = (
                await session.exec(select(Organization.slug).where(Organization.id == org_id))
            ).first()
        self._slugs[org_id] = (now + self._ttl_s, slug)
        return slug
