"""A webhook receiver on 127.0.0.1 (an ephemeral port), for tests that send real deliveries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# What the receiver does with a POST: (headers with lower-case names, raw body) -> the status to answer.
Answer = Callable[[dict[str, str], bytes], int]


@contextmanager
def local_receiver(answer: Answer) -> Iterator[str]:
    """Serve POSTs with `answer` until the block ends; yields the URL to register (`http://127.0.0.1:N/hooks`,
    allowed in tests by WEBHOOK_ALLOWED_NETWORKS, tests/conftest.py)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            status = answer({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()
