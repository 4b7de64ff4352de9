"""Application errors. Services raise these; one handler renders them.

Exceptions::

    AppError                500  unless a subclass says otherwise
    ├── BadRequestError     400  well-formed, but not acceptable (e.g. unknown driver id)
    ├── UnauthorizedError   401  missing, invalid or expired credentials
    ├── ForbiddenError      403  signed in, but the role may not do this
    ├── NotFoundError       404  does not exist, or is outside the caller's scope
    ├── ConflictError       409  clashes with what is stored (duplicate, illegal transition)
    ├── TooManyRequestsError 429 slow down (``Retry-After`` says for how long)
    ├── UnavailableError    503  a service we depend on (e.g. the proof store) failed
    └── InsufficientStorageError 507 the proof store is full (quota or disk): nothing stored

Every error reaches the client as ``{"error": {"code", "message", "details"}}``.
422 is reserved for payload validation, raised by FastAPI itself.
"""

from typing import Any


class AppError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class BadRequestError(AppError):
    status_code = 400
    code = "bad_request"


class UnauthorizedError(AppError):
    status_code = 401
    code = "unauthorized"


class ForbiddenError(AppError):
    status_code = 403
    code = "forbidden"


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"


class ConflictError(AppError):
    status_code = 409
    code = "conflict"


class UnprocessableError(AppError):
    """Well-formed, but not acceptable as sent (the message says which field and why)."""

    status_code = 422
    code = "validation_error"


class TooManyRequestsError(AppError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: float, code: str | None = None) -> None:
        self.retry_after_s = max(1, round(retry_after_s + 0.5))
        super().__init__(message, code=code, details={"retry_after_s": self.retry_after_s})


class UnavailableError(AppError):
    """A service the request needs did not answer or refused (nothing was stored)."""

    status_code = 503
    code = "unavailable"


class InsufficientStorageError(AppError):
    """Where the request's files go is full (a quota, or the disk): nothing was stored, and
    the same request succeeds once space is freed."""

    status_code = 507
    code = "storage_full"
