"""What to tell a person when a call to the server fails."""

import httpx

from shared.api_client import ApiError


def describe_error(exc: Exception, server_url: str) -> str:
    """A message for people: the server's own words when it answered, otherwise why not."""
    if isinstance(exc, ApiError):
        if exc.status >= 500:
            return f"The server had a problem ({exc.status}): {exc.message}. Try again shortly."
        return exc.message
    if isinstance(exc, httpx.TimeoutException):
        return f"The server at {server_url} did not answer in time. Try again."
    if isinstance(exc, httpx.TransportError):
        return f"Cannot reach the server at {server_url}. Check the connection and try again."
    return f"Something went wrong: {exc}"
