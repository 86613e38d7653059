"""The base of the app's pure ASGI middlewares: each acts on HTTP requests only.

Lifespan (and any websocket) messages pass straight through to the app, untouched: there is no request id,
body limit, header or problem answer to give them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    """A middleware over `app` whose `http` sees every HTTP request; anything else goes straight to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request (each middleware says how)."""
        raise NotImplementedError
