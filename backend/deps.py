"""Dependencies shared by the routers, as ``Annotated`` aliases."""

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyQuery, OAuth2PasswordBearer
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth import tokens
from backend.auth.principal import Principal
from backend.auth.service import user_for_token
from backend.config import Settings
from backend.db import pending_actions, pending_messages, session_scope
from backend.errors import BadRequestError, ForbiddenError, UnauthorizedError
from backend.models import Driver
from backend.state import AppState
from shared.enums import Role


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.lastmile
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the handler succeeds, rolled back otherwise.

    Messages queued with :func:`backend.db.after_commit` are published only once the
    commit has succeeded, so no live view ever shows something that was rolled back; then
    the actions queued with :func:`backend.db.after_commit_do` run.
    """
    async with session_scope(state.engine) as session:
        yield session
    for channel, message in pending_messages(session):
        await state.broker.publish(channel, message)
    for action in pending_actions(session):
        await action()


# "function" scope: commit before the response is sent, so a client that got a 2xx can
# read what it wrote, and a failed commit becomes an error response, not a lost write.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_principal(
    token: Annotated[str | None, Depends(_bearer)], state: StateDep
) -> Principal:
    """Who is calling, from the bearer token; the database only on a cache miss."""
    if not token:
        raise UnauthorizedError("sign in first: send 'Authorization: Bearer <access token>'")
    return await principal_for(state, token)


async def principal_for(state: AppState, token: str) -> Principal:
    """The signed-in user an access token names (401 if it is invalid, expired or revoked)."""
    settings = state.settings
    try:
        claims = tokens.decode(settings.secret_key, token, "access")
    except tokens.InvalidTokenError as exc:
        raise UnauthorizedError(str(exc), code="invalid_token") from exc
    cached = state.principals.get(claims.user_id, claims.version)
    if cached is not None:
        return cached
    async with session_scope(state.engine) as session:
        user = await user_for_token(session, settings, token, "access")
        assert user.id is not None
        driver_id = None
        if user.role is Role.DRIVER:
            driver_id = (
                await session.exec(select(Driver.id).where(Driver.user_id == user.id))
            ).first()
    principal = Principal(user.id, user.org_id, Role(user.role), driver_id)
    state.principals.put(principal, user.token_version)
    return principal


CurrentUser = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    async def check(principal: CurrentUser) -> Principal:
        if principal.role not in roles:
            allowed = " or ".join(r.value for r in roles)
            raise ForbiddenError(
                f"this needs the {allowed} role; you are signed in as {principal.role}"
            )
        return principal

    return check


AdminUser = Annotated[Principal, Depends(require(Role.ADMIN))]
StaffUser = Annotated[Principal, Depends(require(Role.ADMIN, Role.DISPATCHER))]


async def get_driver_principal(principal: CurrentUser) -> Principal:
    if principal.role is not Role.DRIVER:
        raise ForbiddenError(f"only drivers have this; you are signed in as {principal.role}")
    if principal.driver_id is None:
        raise ForbiddenError("your login has no driver profile yet; ask a dispatcher to create one")
    return principal


DriverUser = Annotated[Principal, Depends(get_driver_principal)]

# Browsers cannot set headers on an EventSource (nor a WebSocket): streams also take the
# access token as ``?token=`` (masked in the logs by :mod:`backend.log_redaction`).
_query_token = APIKeyQuery(
    name="token",
    scheme_name="AccessTokenQuery",
    description="The access token as the `token` query parameter, for clients that cannot "
    "set headers (a browser's EventSource); never together with `Authorization`.",
    auto_error=False,
)


async def get_stream_token(
    header: Annotated[str | None, Depends(_bearer)],
    query: Annotated[str | None, Depends(_query_token)],
) -> str:
    """The access token of a stream request, from ``Authorization: Bearer`` or ``?token=``.
    Both at once is a 400 (RFC 6750, section 2: one method per request), not a silent pick."""
    if header and query:
        raise BadRequestError(
            "send the access token once: either 'Authorization: Bearer <access token>' "
            "or '?token=<access token>', not both",
            code="invalid_request",
        )
    token = header or query
    if not token:
        raise UnauthorizedError(
            "sign in first: send 'Authorization: Bearer <access token>', or "
            "'?token=<access token>' where headers cannot be set (a browser's EventSource)"
        )
    return token


StreamToken = Annotated[str, Depends(get_stream_token)]


_staff_only = require(Role.ADMIN, Role.DISPATCHER)


async def get_stream_staff(token: StreamToken, state: StateDep) -> Principal:
    return await _staff_only(await principal_for(state, token))


StreamStaffUser = Annotated[Principal, Depends(get_stream_staff)]
