"""What to tell a person when a call to the server fails."""

from collections.abc import Callable

import httpx

from shared.api_client import ApiError, AuthError


def describe_error(exc: Exception, server_url: str) -> str:
    """A message for people: the server's own words when it answered, otherwise why not."""
    if isinstance(exc, ApiError):
        if exc.status >= 500:
            said = exc.message.rstrip(". ")  # the server's own sentence may end with a stop
            return f"The server had a problem ({exc.status}): {said}. Try again shortly."
        return exc.message
    if isinstance(exc, httpx.TimeoutException):
        return f"The server at {server_url} did not answer in time. Try again."
    if isinstance(exc, httpx.TransportError):
        return f"Cannot reach the server at {server_url}. Check the connection and try again."
    return f"Something went wrong: {exc}"


def failure_message(exc: Exception, server_url: str, on_expired: Callable[[], None]) -> str | None:
    """What a failed load should show, or None when the session expired: then ``on_expired``
    has been called (the app goes back to sign-in) and there is nothing to show here."""
    if isinstance(exc, AuthError):
        on_expired()
        return None
    return describe_error(exc, server_url)
