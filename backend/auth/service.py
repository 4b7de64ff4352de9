"""Users and organisations: creation and sign-in. Raises AppErrors; never commits."""

from pydantic import TypeAdapter, ValidationError
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth import tokens
from backend.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from backend.config import Settings
from backend.errors import BadRequestError, ConflictError, UnauthorizedError
from backend.models import Organization, User
from shared.enums import Role
from shared.schemas.auth import TokenPair
from shared.schemas.common import Email

_EMAIL: TypeAdapter[str] = TypeAdapter(Email)


async def get_or_create_org(
    session: AsyncSession, slug: str, name: str | None = None
) -> Organization:
    org = (await session.exec(select(Organization).where(Organization.slug == slug))).first()
    if org is None:
        org = Organization(slug=slug, name=name or slug.replace("-", " ").title())
        session.add(org)
        await session.flush()
    return org


async def create_user(
    session: AsyncSession, org_id: int, email: str, password: str, role: Role, full_name: str = ""
) -> User:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequestError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    try:
        email = _EMAIL.validate_python(email)
    except ValidationError as exc:
        raise BadRequestError(f"'{email}' is not an email address") from exc
    taken = await session.exec(select(func.count()).select_from(User).where(User.email == email))
    if taken.one():
        raise ConflictError(f"a user with email {email} already exists", code="duplicate_email")
    user = User(
        org_id=org_id,
        email=email,
        full_name=full_name,
        role=role,
        password_hash=await hash_password(password),
    )
    session.add(user)
    await session.flush()
    return user


_dummy: list[str] = []


async def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(await hash_password("not-a-real-password"))
    return _dummy[0]


def issue_pair(settings: Settings, user: User) -> TokenPair:
    assert user.id is not None
    access = tokens.issue(
        settings.secret_key, user.id, "access", settings.access_token_ttl_s, user.token_version
    )
    refresh = tokens.issue(
        settings.secret_key, user.id, "refresh", settings.refresh_token_ttl_s, user.token_version
    )
    return TokenPair(
        access_token=access, refresh_token=refresh, expires_in=settings.access_token_ttl_s
    )


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = (await session.exec(select(User).where(User.email == email.strip().lower()))).first()
    if user is None:
        # Spend the same time as a wrong password, so timing does not reveal who has an account.
        await verify_password(await _dummy_hash(), password)
        raise UnauthorizedError("wrong email or password", code="invalid_credentials")
    if not await verify_password(user.password_hash, password):
        raise UnauthorizedError("wrong email or password", code="invalid_credentials")
    if not user.is_active:
        raise UnauthorizedError("this account is disabled", code="account_disabled")
    return user


async def user_for_token(
    session: AsyncSession, settings: Settings, token: str, expected: tokens.TokenType
) -> User:
    """The active user a token of type ``expected`` was issued to, or a 401."""
    try:
        claims = tokens.decode(settings.secret_key, token, expected)
    except tokens.InvalidTokenError as exc:
        raise UnauthorizedError(str(exc), code="invalid_token") from exc
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.version:
        raise UnauthorizedError(
            "this session is no longer valid; sign in again", code="invalid_token"
        )
    return user


async def refresh(session: AsyncSession, settings: Settings, refresh_token: str) -> TokenPair:
    return issue_pair(settings, await user_for_token(session, settings, refresh_token, "refresh"))
