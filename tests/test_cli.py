"""Every `esafety` command, run as the README runs it: a subprocess on a throwaway database of its own, its
exit code and its output asserted."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from api.auth.models import User
from api.auth.passwords import verify_password
from api.demo import DEMO_ACCOUNTS
from api.migrations import head_revision
from api.staff.models import Staff
from tests.kit.databases import engine_for, throwaway_database

ESAFETY = Path(sys.executable).parent / "esafety"
SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
PASSWORD = "a long enough password"


@pytest.fixture
def url() -> Iterator[str]:
    with throwaway_database() as u:
        yield u


def esafety(
    url: str, *args: str, cwd: Path, password: str = PASSWORD, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    # Run from an empty directory, so no .env file is read; the test's settings come from the environment.
    env = {**os.environ, "DATABASE_URL": url, "ESAFETY_PASSWORD": password}
    return subprocess.run(
        [str(ESAFETY), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_migrate_then_create_user_makes_the_first_coordinator_and_refuses_cleanly(
    url: str, tmp_path: Path
) -> None:
    ok(esafety(url, "migrate", cwd=tmp_path))
    with engine_for(url) as engine, engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == head_revision()
    # Run again: nothing to do, still a success.
    ok(esafety(url, "migrate", cwd=tmp_path))

    out = ok(
        esafety(
            url,
            "create-user",
            "--email",
            "Head@Example.org",
            "--role",
            "coordinator",
            "--name",
            "Ada Head",
            cwd=tmp_path,
        )
    )
    assert out.strip() == "Created coordinator account head@example.org"
    with engine_for(url) as engine, Session(engine) as session:
        user = session.exec(select(User)).one()
        staff = session.exec(select(Staff)).one()
        assert (user.email, user.role, user.staff_id) == ("head@example.org", "coordinator", staff.id)
        assert staff.is_esafety_coordinator
        assert verify_password(PASSWORD, user.password_hash)

    again = esafety(url, "create-user", "--email", "head@example.org", "--role", "coordinator", cwd=tmp_path)
    assert again.returncode == 1
    assert again.stderr.strip() == "esafety create-user: head@example.org already has an account"
    short = esafety(
        url,
        "create-user",
        "--email",
        "b@example.org",
        "--role",
        "staff",
        "--name",
        "B",
        cwd=tmp_path,
        password="x",
    )
    assert short.returncode == 1
    assert "at least 12 characters (password)" in short.stderr
    assert "Traceback" not in again.stderr + short.stderr

    # A real organisation's records: seed-demo --if-empty keeps them and prints no demo passwords.
    out = ok(esafety(url, "seed-demo", "--if-empty", cwd=tmp_path))
    assert out.strip() == "Demo data: the database already has records; keeping them."


def test_seed_demo_prints_the_sign_ins_reprints_them_and_deliver_webhooks_runs_once(
    url: str, tmp_path: Path
) -> None:
    ok(esafety(url, "migrate", cwd=tmp_path))
    lines = [f"  {role.value:<12} {email:<36} {password}" for role, email, password in DEMO_ACCOUNTS]
    first = ok(esafety(url, "seed-demo", "--if-empty", cwd=tmp_path)).splitlines()
    assert first[0] == "Demo data loaded."
    assert first[-len(lines) :] == lines
    # What a second `make run` prints: the data is kept and the sign-ins are shown again.
    second = ok(esafety(url, "seed-demo", "--if-empty", cwd=tmp_path)).splitlines()
    assert second[0] == "Demo data: the database already has records; keeping them."
    assert second[-len(lines) :] == lines
    # Without --if-empty a second load is refused, not doubled.
    twice = esafety(url, "seed-demo", cwd=tmp_path)
    assert twice.returncode != 0

    out = ok(esafety(url, "deliver-webhooks", "--once", cwd=tmp_path)).splitlines()
    # The first pass records each active group's status (nothing to announce yet); no subscriptions, no sends.
    assert out == ["Announced 0 compliance changes", "Attempted 0 deliveries"]


def test_openapi_prints_and_writes_the_committed_spec(url: str, tmp_path: Path) -> None:
    printed = ok(esafety(url, "openapi", cwd=tmp_path))
    assert json.loads(printed) == json.loads(SPEC.read_text())
    ok(esafety(url, "openapi", "--output", str(tmp_path / "spec.json"), cwd=tmp_path))
    assert (tmp_path / "spec.json").read_text() == SPEC.read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_answers_and_stops(url: str, tmp_path: Path) -> None:
    ok(esafety(url, "migrate", cwd=tmp_path))
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url}
    server = subprocess.Popen(
        [str(ESAFETY), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "esafety serve exited during start-up"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "esafety serve did not answer /health within 60 s"
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal so the exit status tells of it.
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert output.splitlines()[0] == f"Swagger UI: http://127.0.0.1:{port}/docs"
    assert "Application startup complete" in output
    assert "Traceback" not in output


def refused(result: subprocess.CompletedProcess[str], says: str) -> None:
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert says in result.stderr


def test_refusals_are_one_line_not_a_traceback(url: str, tmp_path: Path) -> None:
    ok(esafety(url, "migrate", cwd=tmp_path))
    for email in ("not-an-email", ""):
        refused(
            esafety(
                url, "create-user", "--email", email, "--role", "coordinator", "--name", "N A", cwd=tmp_path
            ),
            "is not an email address",
        )
    ok(esafety(url, "seed-demo", cwd=tmp_path))
    refused(esafety(url, "seed-demo", cwd=tmp_path), "--if-empty")
    env_zone = {**os.environ, "DATABASE_URL": url, "ORGANISATION_TIMEZONE": "Mars/Phobos"}
    result = subprocess.run(
        [str(ESAFETY), "seed-demo", "--if-empty"],
        cwd=tmp_path,
        env=env_zone,
        capture_output=True,
        text=True,
        check=False,
    )
    refused(result, "ORGANISATION_TIMEZONE")
