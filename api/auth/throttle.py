"""Sign-in throttling that holds under concurrency: every password check is counted BEFORE it runs.

Two counters, each one row in `login_throttle`, shared by every worker and replica through the database:
per account (the email as typed, normalised; unknown emails too) and per client address across accounts.
Taking a check is one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` per counter, in one short
transaction committed before the slow password hash: on PostgreSQL the row lock, on SQLite the write lock
(`BEGIN IMMEDIATE`, api/db.py), makes concurrent attempts take their turn, so a burst of any size gets at
most `LOGIN_MAX_FAILURES` checks per account and `LOGIN_CLIENT_MAX_FAILURES` per client in a window
(`LOGIN_WINDOW_MINUTES`, starting at the first counted check). An attempt over either limit is a 429 with
`Retry-After`, whatever its password, and counts nothing. A check that succeeds gives its place back, so
only failures (and checks still running) hold the count.

Only counts are kept, under SHA-256 of the email or address: the table names no one.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col, update

from api.config import get_settings
from api.db import UTCDateTime, utcnow
from api.errors import TooManyRequests
from api.request_context import RateLimitState, add_rate_limit

ACCOUNT = "account"
CLIENT = "client"
# One IPv6 client is one /64: a single subscriber or host is routinely given a whole /64 (RFC 6177, RFC 7421),
# so counting each address apart would let one client take a fresh counter per guess.
IPV6_CLIENT_PREFIX = 64


class LoginThrottle(SQLModel, table=True):
    """One counter: the password checks taken in its current window (older windows are overwritten)."""

    __tablename__ = "login_throttle"
    scope: str = Field(max_length=16, primary_key=True, description="account or client")
    subject_hash: str = Field(max_length=64, primary_key=True, description="SHA-256 of the email or address")
    window_started_at: datetime = Field(sa_type=UTCDateTime)
    checks: int = Field(description="Failed checks in the window, and checks still running")


@dataclass(frozen=True)
class Counted:
    """One counter after an attempt's check was counted on it: its scope, subject hash, window start, the
    checks now in its window and its limit."""

    scope: str
    subject: str
    started: datetime
    checks: int
    limit: int


@dataclass(frozen=True)
class Taken:
    """The checks one attempt counted, one per counter."""

    counted: tuple[Counted, ...]


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _count(session: Session, scope: str, subject_hash: str, now: datetime) -> tuple[int, datetime]:
    """Count one check on a counter in one atomic statement; its count and window start after it."""
    table: Any = LoginThrottle.__table__  # type: ignore[attr-defined]
    cutoff = now - timedelta(minutes=get_settings().login_window_minutes)
    dialect = session.get_bind().dialect.name
    insert: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    current = table.c.window_started_at > cutoff
    statement = (
        insert.values(scope=scope, subject_hash=subject_hash, window_started_at=now, checks=1)
        .on_conflict_do_update(
            index_elements=["scope", "subject_hash"],
            # SET sees the row's old values: an ended window starts again at this check.
            set_={
                "checks": case((current, table.c.checks + 1), else_=1),
                "window_started_at": case(
                    (current, table.c.window_started_at), else_=insert.excluded.window_started_at
                ),
            },
        )
        .returning(table.c.checks, table.c.window_started_at)
    )
    checks, started = session.execute(statement).one()
    return int(checks), started


def take(session: Session, *, login: str, client: str, now: datetime) -> Taken:
    """Count one password check against the account and the client address, and commit, before the check.

    Raises TooManyRequests (429, `Retry-After` in seconds) when either is over its limit; nothing is
    counted then. Source: issue 11 (a burst must not get more checks than the limit) and RFC 6585 §4.
    """
    s = get_settings()
    counters = (
        (ACCOUNT, _hash(login), s.login_max_failures, "this account"),
        (CLIENT, _hash(client_subject(client)), s.login_client_max_failures, "your address"),
    )
    counted: list[Counted] = []
    # Always the account first, then the client: concurrent attempts lock rows in one order, never a cycle.
    for scope, subject, limit, whom in counters:
        checks, started = _count(session, scope, subject, now)
        if checks > limit:
            session.rollback()  # an attempt refused counts nothing, nor extends the window
            retry = _reset_seconds(started, now)
            _announce(Counted(scope, subject, started, limit + 1, limit), now)
            raise TooManyRequests(
                f"Too many failed sign-ins from {whom}; try again in {retry} seconds",
                headers={"Retry-After": str(retry)},
                extra={"retry_after": retry},
            )
        counted.append(Counted(scope, subject, started, checks, limit))
    session.commit()
    for counter in counted:
        _announce(counter, now)
    return Taken(tuple(counted))


def _reset_seconds(started: datetime, now: datetime) -> int:
    """Seconds until a counter's window, begun at `started`, ends (at least 1)."""
    window = timedelta(minutes=get_settings().login_window_minutes)
    return max(1, math.ceil((started + window - now).total_seconds()))


def _announce(counter: Counted, now: datetime) -> None:
    """Put the counter on the answer as RateLimit and RateLimit-Policy (policy `client`):
    the checks left in its window and when it ends. Only the client's own counter: the account's is the sum
    of everyone's failures on that email, so showing it would tell anyone who types the email how often
    someone else failed to sign in to it (its 429 still says when to try again, in Retry-After)."""
    if counter.scope != CLIENT:
        return
    window = get_settings().login_window_minutes * 60
    add_rate_limit(
        RateLimitState(
            counter.scope,
            counter.limit,
            window,
            counter.limit - counter.checks,
            _reset_seconds(counter.started, now),
        )
    )


def give_back(session: Session, taken: Taken) -> None:
    """A check that succeeded is not a failure: return its place on each counter (if its window is still
    the current one), and on the answer's RateLimit field too. The caller commits."""
    now = utcnow()
    for counter in taken.counted:
        _announce(replace(counter, checks=max(0, counter.checks - 1)), now)
        session.exec(
            update(LoginThrottle)
            .where(
                col(LoginThrottle.scope) == counter.scope,
                col(LoginThrottle.subject_hash) == counter.subject,
                col(LoginThrottle.window_started_at) == counter.started,
                col(LoginThrottle.checks) > 0,
            )
            .values(checks=col(LoginThrottle.checks) - 1)
        )


def _read_address(text: str) -> IPv4Address | IPv6Address:
    """An IP address from text (ValueError if it is not one); an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
    what a dual-stack socket reports for an IPv4 peer) is read as the IPv4 address it carries."""
    address = ip_address(text)
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_subject(client: str) -> str:
    """What the per-client counter counts for a client address: an IPv4 address itself (IPv4-mapped forms
    included), an IPv6 address's /64 network (`2001:db8:1:2::/64`), anything else (a test client, a Unix
    socket) as it is."""
    try:
        address = _read_address(client)
    except ValueError:
        return client
    if isinstance(address, IPv6Address):
        return str(ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


def client_address(peer: str | None, forwarded_for: list[str]) -> str:
    """The address a request came from: the peer's, or, when the peer is a trusted proxy
    (`TRUSTED_PROXIES`), the nearest address in `X-Forwarded-For` that is not a trusted proxy.

    Read from the right, since each proxy appends the address it was reached from and only the entries our
    own proxies added can be believed; a client can write anything on the left.
    """
    trusted = get_settings().trusted_proxies
    if peer is None:
        return "unknown"

    def is_trusted(address: IPv4Address | IPv6Address) -> bool:
        return any(address.version == net.version and address in net for net in trusted)

    try:
        current = _read_address(peer)
    except ValueError:
        return peer  # not an IP peer (a Unix socket, a test client): nothing to forward from
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    while is_trusted(current) and hops:
        try:
            current = _read_address(hops.pop())
        except ValueError:
            break  # a malformed entry: stop at the last address we could read
    return str(current)
