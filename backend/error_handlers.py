"""Turn every failure into ``{"error": {"code", "message", "details"}}``."""

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.errors import AppError, TooManyRequestsError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": jsonable_encoder(details)}}
    return JSONResponse(body, status_code=status, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "body"


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if isinstance(exc, TooManyRequestsError):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": _field_name(tuple(e["loc"])), "message": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
    return error_response(422, "validation_error", f"invalid request: {summary}", problems)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), None, exc.headers)


async def _integrity_error(_: Request, exc: Exception) -> JSONResponse:
    # The driver's message only: the statement's parameters may hold secrets.
    log.info("integrity error turned into 409: %s", getattr(exc, "orig", exc))
    return error_response(409, "conflict", "this conflicts with data already stored")


async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
    """A number the database cannot hold (an id past its integer column: SQLite raises
    OverflowError past 64 bits, PostgreSQL past 32) or a date that leaves the calendar in
    UTC is the request's fault, not the server's."""
    log.info("out-of-range value turned into 422: %s", getattr(exc, "orig", exc))
    return error_response(
        422,
        "out_of_range",
        "invalid request: a number or date in it is out of the range the database stores",
    )


def _chain(exc: BaseException | None) -> list[BaseException]:
    found: list[BaseException] = []
    while exc is not None and len(found) < 10:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def _data_exception(exc: BaseException) -> bool:
    """SQLSTATE class 22, "data exception": the value itself cannot be stored (a NUL in
    text, a number out of the column's range...). The driver's exception carries it."""
    return any(str(getattr(e, "sqlstate", "")).startswith("22") for e in _chain(exc))


async def _statement_error(request: Request, exc: Exception) -> JSONResponse:
    """A value that failed on its way into a statement: converting it overflowed (an id past
    the column's integer, year 1 at +00:02 moved to UTC), in the driver or before it, or
    the database refused the value itself."""
    assert isinstance(exc, StatementError)
    causes = [*_chain(exc.orig), *_chain(exc)]
    if any(isinstance(e, OverflowError) for e in causes):
        return await _out_of_range(request, exc)
    if any(_data_exception(e) for e in causes):
        log.info("data exception turned into 422: %s", exc.orig)
        return error_response(
            422,
            "invalid_value",
            "invalid request: a value in it cannot be stored (text may not contain NUL "
            "characters; numbers and dates must be within range)",
        )
    return await _unexpected(request, exc)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "something went wrong on our side")


def install(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(StatementError, _statement_error)
    app.add_exception_handler(Exception, _unexpected)
