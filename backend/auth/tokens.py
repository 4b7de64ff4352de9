"""JWT access and refresh tokens (HS256). Pure: no database, no framework."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt

TokenType = Literal["access", "refresh"]
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    token_type: TokenType
    version: int
    expires_at: float = float("inf")  # epoch seconds (the "exp" claim)


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or of the wrong type."""


def issue(
    secret: str,
    user_id: int,
    token_type: TokenType,
    ttl_s: int,
    version: int,
    now: datetime | None = None,
) -> str:
    now = now or datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "typ": token_type,
        "ver": version,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_s),
        # Two sign-ins in one second would otherwise get the same token (iat is in whole
        # seconds): each is its own, and a proxy hashing on it spreads them.
        "jti": secrets.token_urlsafe(9),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode(secret: str, token: str, expected: TokenType) -> TokenClaims:
    try:
        payload = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError("the token has expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidTokenError("the token is not valid") from exc
    if payload.get("typ") != expected:
        raise InvalidTokenError(f"expected a {expected} token")
    try:
        return TokenClaims(
            int(payload["sub"]), expected, int(payload.get("ver", 0)), float(payload["exp"])
        )
    except (TypeError, ValueError) as exc:
        raise InvalidTokenError("the token is not valid") from exc
