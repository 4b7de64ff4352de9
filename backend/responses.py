"""OpenAPI declarations of error responses, so the docs are honest about failures."""

from typing import Any

from shared.schemas.common import ErrorResponse

_DESCRIPTIONS = {
    400: "Request understood but not acceptable",
    401: "Not signed in, or the session expired",
    403: "The signed-in role may not do this",
    404: "Not found, or outside what the caller may see",
    409: "Conflicts with stored data (duplicate, illegal status change)",
    413: "An upload or body over the size limit",
    422: "The payload or query failed validation",
    507: "The proof store is full (quota or disk): nothing was stored; send it again later",
}


def ERRORS(*codes: int) -> dict[int | str, dict[str, Any]]:  # noqa: N802  (reads like a constant)
    return {c: {"model": ErrorResponse, "description": _DESCRIPTIONS[c]} for c in codes}
