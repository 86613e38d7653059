"""What `make bench` measures against the framework floor (bench/floor_app.py, served beside the product on
the same database): the first read of a group's compliance after a write to the group (to its own row, or
to one of its memberships, which reloads its members too), and every read at 16 connections at once (wrk,
or a Python client where wrk is not installed).

Shares of the floor are taken round by round (sequential) or run by run (concurrent, floor first, then each
product route, drained between runs), so a machine that slows down moves both alike.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col, select

import api.compliance.cache  # noqa: F401  (the facts versions' rules, so the bench's writes move the group's)
from api import clock
from api.groups.models import Group
from api.memberships.models import Membership
from api.participants.models import Participant
from api.staff.models import Staff

CONNECTIONS = 16
SECONDS = 5


def write_to_group(engine: sa.Engine, group_id: uuid.UUID) -> None:
    """A write that moves the group's facts version and nothing its answer shows: its URL changed."""
    with Session(engine) as s:
        g = s.get(Group, group_id)
        assert g is not None
        g.url = f"https://example.org/bench/{uuid.uuid4().hex[:8]}"
        s.add(g)
        s.commit()


def _current_membership(s: Session, group_id: uuid.UUID, *where: Any) -> Membership:
    """The group's first current membership (by id) that `where` also holds."""
    current = (Membership.group_id == group_id, col(Membership.ended_on).is_(None), *where)
    return s.exec(select(Membership).where(*current).order_by(col(Membership.id)).limit(1)).one()


def write_to_members(engine: sa.Engine, group_id: uuid.UUID) -> None:
    """A write that moves the group's members' facts version, and its own, and nothing its answer shows: the
    reason recorded on one of its current memberships, should it end, changed."""
    with Session(engine) as s:
        m = _current_membership(s, group_id)
        m.end_reason = f"bench {uuid.uuid4().hex[:8]} {clock.now():%H%M%S}"
        s.add(m)
        s.commit()


def write_to_organisation(engine: sa.Engine, _group_id: uuid.UUID) -> None:
    """A write that moves the organisation's facts version and nothing any answer shows: a member of staff's
    personal phone number changed. Every group's answer is worked out afresh after it: a first evaluation."""
    with Session(engine) as s:
        staff = s.exec(select(Staff).order_by(col(Staff.id)).limit(1)).one()
        staff.personal_phone = f"07700 9{uuid.uuid4().int % 100000:05d}"
        s.add(staff)
        s.commit()


def write_unplaced(engine: sa.Engine, _group_id: uuid.UUID) -> None:
    """A write the facts hooks cannot place: raw SQL through a session (a member of staff's personal phone
    number, which no answer shows). It moves every counter kept answers stand on but the groups' own
    (`facts.UNKNOWN`), so the organisation report's next read keeps nothing: every group's members read and
    every group evaluated afresh, as in a worker's first report."""
    with Session(engine) as s:
        staff = s.exec(select(Staff).order_by(col(Staff.id)).limit(1)).one()
        s.execute(
            sa.text("UPDATE staff SET personal_phone = :phone WHERE id = :id"),
            {
                "phone": f"07700 9{uuid.uuid4().int % 100000:05d}",
                # The id as the column holds it: SQLite's 32 hex digits, PostgreSQL's uuid.
                "id": staff.id.hex if engine.dialect.name == "sqlite" else staff.id,
            },
        )
        s.commit()


def write_to_participant(engine: sa.Engine, group_id: uuid.UUID) -> None:
    """A write about one young person of the group, in no other group: their personal phone number changed,
    which no answer shows. It moves that group's counters and the young people's (api/compliance/people.py),
    not the organisation's: the other groups' answers are kept, the organisation's own findings worked out
    again."""
    with Session(engine) as s:
        m = _current_membership(s, group_id, col(Membership.participant_id).is_not(None))
        child = s.get(Participant, m.participant_id)
        assert child is not None
        child.personal_phone = f"07700 9{uuid.uuid4().int % 100000:05d}"
        s.add(child)
        s.commit()


Write = Callable[[sa.Engine, uuid.UUID], None]


def read_after_write(
    client: httpx.Client,
    engine: sa.Engine,
    group_id: uuid.UUID,
    path: str,
    headers: dict[str, str],
    n: int,
    max_seconds: float,
    write: Write = write_to_group,
) -> tuple[float, list[float]]:
    """Requests/s and latencies of `path` each read right after `write` to the group (by default its URL
    changed, which moves the group's facts version and nothing the answer shows): only the reads are
    timed."""
    latencies: list[float] = []
    start = time.perf_counter()
    while len(latencies) < n and time.perf_counter() - start < max_seconds:
        write(engine, group_id)
        t0 = time.perf_counter()
        r = client.get(path, headers=headers)
        latencies.append(time.perf_counter() - t0)
        r.raise_for_status()
    return len(latencies) / sum(latencies), latencies


def _wrk(url: str, headers: dict[str, str]) -> tuple[float, int]:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "30s"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return (float(rate.group(1)) if rate else 0.0), (int(bad.group(1)) if bad else 0)


async def _python_load(url: str, headers: dict[str, str]) -> tuple[float, int]:
    done = 0
    bad = 0
    stop = time.perf_counter() + SECONDS
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal done, bad
            while time.perf_counter() < stop:
                r = await client.get(url, headers=headers)
                done += 1
                bad += r.status_code >= 400

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        return done / (time.perf_counter() - start), bad


def load_client() -> str:
    return "wrk -t2 -c16 -d5s" if shutil.which("wrk") else "Python (httpx, 16 connections, 5 s)"


def concurrent(url: str, headers: dict[str, str]) -> tuple[float, int]:
    """Requests/s at CONNECTIONS connections for SECONDS, and how many answers were not 2xx; then a pause so
    the server has drained before the next run."""
    found = _wrk(url, headers) if shutil.which("wrk") else asyncio.run(_python_load(url, headers))
    time.sleep(2)
    return found
