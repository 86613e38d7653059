"""Security headers on every answer, errors included (a pure ASGI middleware: it only adds headers).

Every answer of this API may carry a child's record or a token, so none may be cached, sniffed into
another type, framed or leak its URL as a referrer (OWASP REST Security Cheat Sheet, "Security headers").
A header the route set itself is kept (Swagger UI's page sets its own Content-Security-Policy).
"""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from api.asgi import HttpMiddleware

# For JSON answers nothing may load or run at all; a page that needs more (/docs) sets its own policy.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", API_POLICY.encode()),
)


class SecurityHeaders(HttpMiddleware):
    """Adds HEADERS to every HTTP answer that does not set them already."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in HEADERS if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
