"""Database engine and sessions. Only ``get_session`` commits."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url``. SQLite gets foreign keys, WAL and a busy timeout;
    a server database (PostgreSQL through asyncpg) a pool sized for a burst of requests."""
    is_sqlite = url.startswith("sqlite")
    # hide_parameters: a failed statement's error (and its logged traceback) would otherwise
    # print its values, tracking tokens and webhook secrets among them.
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": not is_sqlite, "hide_parameters": True}
    if is_sqlite:
        kwargs["connect_args"] = {"timeout": 30}
    else:
        # 10 kept open, 20 more under load; a connection older than 30 min is replaced
        # (a proxy or firewall may drop idle ones first).
        kwargs.update(pool_size=10, max_overflow=20, pool_recycle=1800, pool_timeout=30)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite:

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


@asynccontextmanager
async def session_scope(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session that commits if the block succeeds and rolls back if it raises."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


_PENDING = "lastmile.pending_messages"


def after_commit(session: AsyncSession, channel: str, message: bytes) -> None:
    """Queue a broker message to publish once this session's transaction has committed."""
    session.info.setdefault(_PENDING, []).append((channel, message))


def pending_messages(session: AsyncSession) -> list[tuple[str, bytes]]:
    messages: list[tuple[str, bytes]] = session.info.pop(_PENDING, [])
    return messages


_ACTIONS = "lastmile.after_commit_actions"


def after_commit_do(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Queue ``action`` to await once this session's transaction has committed (e.g. have
    the live geofences reload what was just written), before the response is sent. It
    must not raise: the write is committed whatever it does."""
    session.info.setdefault(_ACTIONS, []).append(action)


def pending_actions(session: AsyncSession) -> list[Callable[[], Awaitable[None]]]:
    actions: list[Callable[[], Awaitable[None]]] = session.info.pop(_ACTIONS, [])
    return actions
