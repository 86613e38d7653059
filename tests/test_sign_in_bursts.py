"""Sign-in under bursts, as an attacker sends them: real concurrent requests to `esafety serve` with two
worker processes, on SQLite and PostgreSQL (issue 11). Password checks are counted from the audit log:
every check that ran records `auth.sign_in_failed` or `auth.sign_in`, and a throttled attempt records none.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine, delete, func
from sqlmodel import Session, col, select

from api.audit.models import AuditEvent
from api.auth.roles import Role
from api.auth.throttle import LoginThrottle
from api.db import make_engine
from tests.kit.auth import PASSWORD, make_actor
from tests.kit.databases import throwaway_database
from tests.kit.servers import served_by_workers

TOKEN = "/api/v1/auth/token"
CHECKS = ("auth.sign_in_failed", "auth.sign_in")
# A hash slow enough that requests overlap while it runs, as they do in production; waits for the database
# (a lock, a pooled connection) long enough that a busy test machine does not turn them into 503s.
SETTINGS = {
    "argon2_time_cost": "2",
    "argon2_memory_kib": "8192",
    "database_statement_timeout_seconds": "30",
    "database_pool_timeout_seconds": "30",
}


def password_checks(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).where(col(AuditEvent.action).in_(CHECKS))).one())


def burst(base: str, forms: list[dict[str, str]], after_first_429: dict[str, str] | None = None) -> list[int]:
    """Send every form at the same moment (a barrier releases them together); with `after_first_429`, one
    more as soon as the first 429 comes back, while the rest of the burst is still arriving. Statuses, in
    order, the extra one last."""
    barrier = threading.Barrier(len(forms))
    limited = threading.Event()

    def send(form: dict[str, str]) -> int:
        with httpx.Client(base_url=base, timeout=60) as http:
            barrier.wait()
            status = http.post(TOKEN, data=form).status_code
        if status == 429:
            limited.set()
        return status

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        futures = [pool.submit(send, form) for form in forms]
        extra: list[int] = []
        if after_first_429 is not None:
            assert limited.wait(timeout=60), "no attempt was throttled"
            with httpx.Client(base_url=base, timeout=60) as http:
                response = http.post(TOKEN, data=after_first_429)
            extra.append(response.status_code)
            assert "access_token" not in response.text
        return [f.result() for f in futures] + extra


def live(test: Callable[[str, Engine], None]) -> None:
    with throwaway_database(migrated=True) as url:
        engine = make_engine(url)
        try:
            with served_by_workers(url, workers=2, **SETTINGS) as base:
                test(base, engine)
        finally:
            engine.dispose()


def test_a_burst_of_fifty_wrong_passwords_gets_five_checks_and_the_right_one_no_token() -> None:
    def run(base: str, engine: Engine) -> None:
        with Session(engine, expire_on_commit=False) as s:
            victim = make_actor(s, Role.coordinator, coordinator=True)
        assert victim.user is not None
        email = victim.user.email
        wrong = [{"username": email, "password": f"guess {n}"} for n in range(50)]
        statuses = burst(base, wrong, after_first_429={"username": email, "password": PASSWORD})
        counts = Counter(statuses)
        assert password_checks(engine) == 5  # LOGIN_MAX_FAILURES, not fifty
        assert counts[401] == 5
        assert counts[429] == 46  # the other 45 guesses and the right password
        assert counts[200] == 0

    live(run)


def test_fifteen_accounts_from_one_address_are_throttled_by_the_client_limit() -> None:
    def run(base: str, engine: Engine) -> None:
        with Session(engine, expire_on_commit=False) as s:
            emails = [make_actor(s, Role.staff).user.email for _ in range(15)]  # type: ignore[union-attr]
            s.exec(delete(LoginThrottle))
            s.commit()
        statuses = burst(base, [{"username": e, "password": "Summer2026!"} for e in emails])
        counts = Counter(statuses)
        assert password_checks(engine) == 10  # LOGIN_CLIENT_MAX_FAILURES across the accounts
        assert (counts[401], counts[429]) == (10, 5)
        # One address's guessing does not lock the accounts themselves: each had at most one check.
        with Session(engine) as s:
            accounts = s.exec(select(LoginThrottle).where(LoginThrottle.scope == "account")).all()
        assert len(accounts) == 10
        assert all(a.checks == 1 for a in accounts)

    live(run)
