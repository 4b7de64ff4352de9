from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlmodel import col, func, select

from backend.auth import service
from backend.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, StateDep
from backend.errors import UnauthorizedError
from backend.models import Organization, User
from backend.responses import ERRORS
from shared.schemas.auth import Me, RefreshRequest, TokenPair, UserCreate, UserOut
from shared.schemas.common import Page

router = APIRouter(tags=["auth"])


TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many failed sign-ins: wait Retry-After seconds"}
}


def _client(request: Request) -> str | None:
    """The client's address (behind a trusted proxy, the one it forwarded)."""
    return request.client.host if request.client else None


@router.post("/auth/token", response_model=TokenPair, responses={**ERRORS(401, 422), **TOO_MANY})
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    state: StateDep,
) -> TokenPair:
    """Sign in with email (``username``) and password; returns an access and a refresh token.

    Failed sign-ins are limited per client address and per account (429 with
    ``Retry-After`` once used up; see README "Security")."""
    ip = _client(request)
    await state.sign_ins.check(ip, form.username)
    try:
        user = await service.authenticate(session, form.username, form.password)
    except UnauthorizedError:
        await state.sign_ins.failed(ip, form.username)
        raise
    return service.issue_pair(settings, user)


@router.post("/auth/refresh", response_model=TokenPair, responses={**ERRORS(401, 422), **TOO_MANY})
async def refresh(
    body: RefreshRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    state: StateDep,
) -> TokenPair:
    """Swap a refresh token for a new access/refresh pair. Refused refresh tokens count
    towards the client address's sign-in limit."""
    ip = _client(request)
    await state.sign_ins.check(ip)
    try:
        return await service.refresh(session, settings, body.refresh_token)
    except UnauthorizedError:
        await state.sign_ins.failed(ip)
        raise


@router.post("/auth/logout", status_code=204, responses=ERRORS(401))
async def logout(principal: CurrentUser, session: SessionDep, state: StateDep) -> None:
    """Sign out everywhere: every token issued to this user so far stops working."""
    user = await session.get(User, principal.user_id)
    assert user is not None
    user.token_version += 1
    session.add(user)
    state.principals.revoke_below(principal.user_id, user.token_version)


@router.get("/auth/me", response_model=Me, responses=ERRORS(401))
async def me(principal: CurrentUser, session: SessionDep) -> Me:
    """The signed-in user, their organisation and (for drivers) their driver id."""
    user = await session.get(User, principal.user_id)
    org = await session.get(Organization, principal.org_id)
    assert user is not None
    assert org is not None
    return Me.model_validate(
        {**user.model_dump(), "org_slug": org.slug, "driver_id": principal.driver_id}
    )


@router.post(
    "/users", response_model=UserOut, status_code=201, responses=ERRORS(400, 401, 403, 409, 422)
)
async def create_user(body: UserCreate, admin: AdminUser, session: SessionDep) -> User:
    """Create a user in the admin's organisation."""
    return await service.create_user(
        session, admin.org_id, body.email, body.password, body.role, body.full_name
    )


@router.get("/users", response_model=Page[UserOut], responses=ERRORS(401, 403, 422))
async def list_users(
    admin: AdminUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[UserOut]:
    """Users of the admin's organisation."""
    where = User.org_id == admin.org_id
    total = (await session.exec(select(func.count()).select_from(User).where(where))).one()
    rows = await session.exec(
        select(User).where(where).order_by(col(User.id)).offset(offset).limit(limit)
    )
    items = [UserOut.model_validate(u) for u in rows.all()]
    return Page[UserOut](items=items, total=total, limit=limit, offset=offset)
