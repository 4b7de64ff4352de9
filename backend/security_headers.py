"""Security headers on every HTTP response the framework answers (pages, API, assets).

A response that already set one (the tracking page its own Content-Security-Policy) keeps
its own. HTML pages without a policy of their own (``/docs``, ``/redoc``: Swagger UI and
ReDoc start from an inline script and ReDoc renders in a blob: worker) get one that allows
exactly that; everything else (JSON, files) gets a policy that allows nothing, as it is
never a page. ``Strict-Transport-Security`` only over https (``X-Forwarded-Proto`` from a
trusted proxy counts) or when ``security_hsts`` is set: over plain http it means nothing and
a development box on http must stay reachable.
"""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
NOT_A_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = self.hsts or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                is_page = headers.get("content-type", "").startswith("text/html")
                policy = DOCS_PAGE_POLICY if is_page else NOT_A_PAGE_POLICY
                headers.setdefault("Content-Security-Policy", policy)
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
