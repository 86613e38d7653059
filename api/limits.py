"""A request body over the limit is refused with 413 before it is read into memory."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import HttpMiddleware
from api.errors import problem_response
from api.problems import ProblemCode


class BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI passes it on while reading a body rather than turning it into a 400."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The body is over {max_bytes} bytes")


class BodySizeLimit(HttpMiddleware):
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        length: bytes | None = None
        chunked = False
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        if not chunked and (length is None or length.isdigit()):
            # The server delivers no more than a valid content-length (none: no body), so there is nothing
            # to count as the body arrives: the request passes straight through.
            await self.app(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            # A chunked body carries no length: count as it arrives.
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(ProblemCode.payload_too_large, f"The body is over {self.max_bytes} bytes")
        await response(scope, receive, send)
