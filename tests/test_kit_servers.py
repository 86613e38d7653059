"""The test kit's servers never talk to another test's: a port taken between being picked and being bound
(another test's server started on it first, on a machine running tests in parallel) makes a worker server
start again on another port rather than hand its test the other server's address."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from tests.kit import servers
from tests.kit.databases import throwaway_database
from tests.kit.server_nonce import NONCE_PATH


class _Impostor(BaseHTTPRequestHandler):
    """Another test's server: healthy, and answering everything with 200."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def impostor() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Impostor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_a_worker_server_given_a_port_another_server_took_starts_on_another(
    impostor: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    picked = iter([impostor])
    free = servers._free_port
    monkeypatch.setattr(servers, "_free_port", lambda: next(picked, None) or free())
    with throwaway_database(migrated=True) as url, servers.served_by_workers(url, workers=1) as base:
        assert not base.endswith(f":{impostor}")
        # The server at `base` is the one started for this test: it answers with the nonce it was given.
        assert httpx.get(f"{base}{NONCE_PATH}").text
        assert httpx.get(f"{base}/health").json()


def test_a_worker_server_that_cannot_start_says_why_rather_than_trying_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Only a port taken is tried again: a server that fails for another reason fails the test at once.
    monkeypatch.setenv("DATABASE_URL", "not a database url")
    with (
        pytest.raises(RuntimeError, match="did not start") as raised,
        servers.served_by_workers("not a database url", workers=1),
    ):
        pass
    assert not isinstance(raised.value, servers.PortTaken)
