"""Real uvicorn servers on 127.0.0.1, each on a throwaway database of its own, for tests that need committed
data and truly concurrent requests (the ordinary fixtures roll each test back inside one connection)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import httpx
import uvicorn
from sqlalchemy import Engine
from sqlmodel import Session

from api.db import get_session
from api.main import create_app
from tests.kit.databases import engine_for, throwaway_database
from tests.kit.server_nonce import NONCE_PATH, NONCE_VARIABLE


def _bound_socket() -> socket.socket:
    """A socket bound to a port nothing listens on, left open: one the system picks, or with TEST_PORTS
    ("19000-19099") the first free one in that range (a shared machine where each run keeps to its own
    ports)."""
    wanted = os.environ.get("TEST_PORTS")
    first, last = (int(p) for p in wanted.split("-")) if wanted else (0, 0)
    for port in range(first, last + 1):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        return s
    raise RuntimeError(f"no free port in TEST_PORTS={wanted}")


def _free_port() -> int:
    """A port nothing listens on as this returns (`_bound_socket`, closed): another process may bind it
    before the caller's server does (`served_by_workers` tells and starts again)."""
    with _bound_socket() as s:
        return int(s.getsockname()[1])


@contextmanager
def live_server(engine: Engine) -> Iterator[str]:
    """Serve the app on 127.0.0.1 with sessions from `engine`; yields the base URL; stops by itself."""
    app = create_app()

    def _session() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as session:
            yield session

    app.dependency_overrides[get_session] = _session
    # Bound here and handed to uvicorn, never closed in between: a port picked, closed and bound again could
    # be taken by another test's server in the meantime.
    sock = _bound_socket()
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def live_app() -> Iterator[tuple[str, Engine]]:
    """The app served on a migrated throwaway database of its own; yields the base URL and an engine on
    that database (to arrange and inspect what the server commits)."""
    with throwaway_database(migrated=True) as url, engine_for(url) as engine, live_server(engine) as base:
        yield base, engine


class PortTaken(RuntimeError):
    """Another server answers on the port a server was started on: the port was taken between being picked
    and being bound (`served_by_workers` starts again on another)."""


def wait_until_healthy(
    base: str, process: subprocess.Popen[bytes], log: IO[bytes], *, seconds: float, nonce: str | None = None
) -> None:
    """Return once `GET {base}/health` answers 200; RuntimeError with the server's output (`log`) if the
    process stops first or `seconds` pass. With `nonce` (the server's `NONCE_VARIABLE`), `PortTaken` when
    the server answering is not this one."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                if nonce is not None and httpx.get(f"{base}{NONCE_PATH}", timeout=1).text != nonce:
                    raise PortTaken(base)
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            if "address already in use" in output.lower():
                raise PortTaken(base)
            raise RuntimeError(f"the server did not start: {output}")
        time.sleep(0.1)


@contextmanager
def served_by_workers(url: str, *, workers: int = 2, **settings: str) -> Iterator[str]:
    """The app served by N uvicorn worker processes on a free port, as production runs it (separate
    processes that share only the database); `settings` become environment variables. Yields the
    base URL; stops the server afterwards."""
    for attempt in range(5):
        try:
            with _served_by_workers(url, workers, settings) as base:
                yield base
                return
        except PortTaken:
            if attempt == 4:
                raise


@contextmanager
def _served_by_workers(url: str, workers: int, settings: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    nonce = uuid.uuid4().hex
    env = {
        **os.environ,
        "DATABASE_URL": url,
        NONCE_VARIABLE: nonce,
        **{k.upper(): v for k, v in settings.items()},
    }
    # As `esafety serve` runs it (proxy headers left to the app), through uvicorn's own command so that a
    # worker slow to import the app on a busy test machine is waited for rather than restarted in a loop.
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        # `api.main:app` on the run's clock: the workers' "today" is the tests' (tests/kit/run_clock.py).
        "tests.kit.run_clock_app:app",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-proxy-headers",
        "--timeout-worker-healthcheck",
        "120",
    ]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            # Generous: each worker imports the whole app, on a machine that may be busy with other tests.
            wait_until_healthy(base, process, log, seconds=120, nonce=nonce)
            yield base
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
