"""Which server answers on a port: a test server started in another process answers `NONCE_PATH` with the
nonce its parent gave it (`NONCE_VARIABLE`), so that the parent can tell its own server from another test's
that took the port between its being picked and being bound (tests/kit/servers.py)."""

from __future__ import annotations

import os

from starlette.types import ASGIApp, Receive, Scope, Send

NONCE_VARIABLE = "TEST_SERVER_NONCE"
NONCE_PATH = "/__test-server-nonce"


def answering_nonce(app: ASGIApp) -> ASGIApp:
    """`app`, answering `GET NONCE_PATH` with this process's nonce (empty without one) and nothing else."""
    nonce = os.environ.get(NONCE_VARIABLE, "").encode()

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == NONCE_PATH:
            headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(nonce)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": nonce})
            return
        await app(scope, receive, send)

    return wrapped
