"""`make bench`: seed a database, serve the app with uvicorn on 127.0.0.1, and measure the compliance routes
against an authenticated trivial read. Not a test: it reports figures (record them in bench/README.md).

SQLite always; PostgreSQL too when BENCH_DATABASE_URL names a server (a throwaway database is made on it and
dropped afterwards). Every loop is bounded by a request count and a time limit, and the server is stopped
at the end, so the run finishes by itself.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-" + "x" * 40
os.environ.setdefault("SECRET_KEY", SECRET)
os.environ.setdefault("ENVIRONMENT", "development")
# The bench calls the publication check far more often than a person may.
os.environ.setdefault("PUBLICATION_CHECKS_PER_MINUTE", "1000000")

import api.models  # noqa: E402, F401  (registers every table)
from api import clock  # noqa: E402
from api.auth import tokens  # noqa: E402
from api.migrations import upgrade  # noqa: E402
from bench import floor, publication, rosters  # noqa: E402

TODAY = clock.today()
BIG_GROUPS = 500
BIG_GROUP_SIZE = 50
SIZED = (10, 100, 1000)


def _row(**values: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"id": uuid.uuid4(), "created_at": now, "updated_at": now, "version": 1, **values}


@dataclass
class Seeded:
    token: str
    sized_groups: dict[int, uuid.UUID]
    big_group: uuid.UUID  # one of the BIG_GROUPS groups of BIG_GROUP_SIZE


def seed(url: str) -> Seeded:
    """500 groups of 50 members, plus one group each of 10, 100 and 1,000 members; bulk inserts only."""
    upgrade(url)
    from sqlmodel import SQLModel

    t = SQLModel.metadata.tables
    engine = sa.create_engine(url)
    staff = [
        _row(
            full_name=f"Staff {i}",
            email=f"staff{i}@moremusic.org.uk",
            employment_type="employee",
            started_on=TODAY - timedelta(days=800),
            is_esafety_coordinator=i == 0,
            uses_social_media_for_work=True,
            code_of_conduct_signed_on=TODAY - timedelta(days=700),
            esafety_training_completed_on=TODAY - timedelta(days=100 + (i % 400)),
        )
        for i in range(60)
    ]
    coordinator = staff[0]
    user = _row(
        staff_id=coordinator["id"],
        email=coordinator["email"],
        password_hash="not-used-by-the-bench",  # the bench signs a token directly
        role="coordinator",
        is_active=True,
        token_epoch=0,
    )
    groups, members, participants, consents, risks, reviews = [], [], [], [], [], []
    sizes = [BIG_GROUP_SIZE] * BIG_GROUPS + list(SIZED)
    sized: dict[int, uuid.UUID] = {}
    for gi, size in enumerate(sizes):
        started = TODAY - timedelta(days=200)
        g = _row(
            name=f"Group {gi:04d}",
            platform=("facebook_group", "whatsapp", "discord")[gi % 3],
            visibility="public" if gi % 17 == 0 else "closed",
            join_approval="admins_only",
            min_age=11,
            max_age=25,
            shares_images=gi % 2 == 0,
            started_on=started,
            status="active",
        )
        groups.append(g)
        if gi >= BIG_GROUPS:
            sized[size] = g["id"]
        admins = (coordinator, staff[1 + gi % 59], staff[1 + (gi + 7) % 59])
        for a in admins:
            members.append(
                _row(
                    group_id=g["id"], staff_id=a["id"], participant_id=None, role="admin", started_on=started
                )
            )
        for pi in range(size - len(admins)):
            p = _row(
                full_name=f"Participant {gi}-{pi}",
                date_of_birth=TODAY.replace(year=TODAY.year - 12 - pi % 10),
                is_vulnerable_adult=False,
                joined_on=started - timedelta(days=30),
            )
            participants.append(p)
            members.append(
                _row(
                    group_id=g["id"], staff_id=None, participant_id=p["id"], role="member", started_on=started
                )
            )
            consents.append(
                _row(
                    participant_id=p["id"],
                    kind="esafety_agreement",
                    purposes=[],
                    given_by="parent_carer",
                    given_by_name="Carer",
                    given_on=started - timedelta(days=10),
                    # A few withdrawn, so some groups fail on consents.
                    withdrawn_on=TODAY - timedelta(days=5) if (gi * 31 + pi) % 97 == 0 else None,
                )
            )
            consents.append(
                _row(
                    participant_id=p["id"],
                    kind="image_use",
                    purposes=["social_media", "website"],
                    given_by="parent_carer",
                    given_by_name="Carer",
                    given_on=started - timedelta(days=10),
                    withdrawn_on=None,
                )
            )
        risks.append(
            _row(
                group_id=g["id"],
                assessed_on=started - timedelta(days=3),
                assessed_by_id=coordinator["id"],
                risks="r",
                mitigations="m",
                privacy_features_checked=True,
            )
        )
        reviews.append(
            _row(
                group_id=g["id"],
                reviewed_on=TODAY - timedelta(days=gi % 120),
                reviewed_by_id=coordinator["id"],
            )
        )
    with engine.begin() as conn:
        conn.execute(sa.insert(t["staff"]), staff)
        conn.execute(sa.insert(t["user_account"]), [user])
        conn.execute(sa.insert(t["online_group"]), groups)
        conn.execute(sa.insert(t["participant"]), participants)
        conn.execute(sa.insert(t["membership"]), members)
        conn.execute(sa.insert(t["consent"]), consents)
        conn.execute(sa.insert(t["risk_assessment"]), risks)
        conn.execute(sa.insert(t["group_review"]), reviews)
    engine.dispose()
    token = tokens.issue(user_id=user["id"], epoch=0, secret=os.environ["SECRET_KEY"], minutes=120)
    print(
        f"  seeded {len(groups)} groups, {len(members)} memberships, {len(participants)} participants, "
        f"{len(consents)} consents"
    )
    return Seeded(token, sized, groups[0]["id"])


def _free_port() -> int:
    if os.environ.get("BENCH_PORT"):  # a fixed port, where several benches share a machine
        return int(os.environ["BENCH_PORT"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(
    url: str, cwd: Path = ROOT, app: str = "api.main:app", health: str = "/health", port: int | None = None
) -> Iterator[str]:
    """Serve `app` (the code in `cwd`: the product, or the floor) on a free port until the block ends."""
    port = port or _free_port()
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)),
            *("--log-level", "warning", "--no-access-log"),
        ],
        cwd=cwd,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a busy machine starts the app slowly
        while True:
            try:
                if httpx.get(f"{base}{health}", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class Figures:
    name: str
    requests: int
    rps: float  # the median over the rounds
    p50_ms: float  # over every request of every round
    p99_ms: float
    ratio: float  # the median over the rounds of rps / the trivial read's rps in the same round
    floor: float  # the median over the rounds of rps / the floor's rps in the same round


@dataclass
class Endpoint:
    name: str
    path: str
    auth: bool
    max_requests: int  # per round
    max_seconds: float  # per round
    on_floor: bool = False  # served by the floor app, not the product
    after_write: uuid.UUID | None = None  # each read right after a write to this group
    write: floor.Write = floor.write_to_group  # the write: to the group's own row, or to its members


ROUNDS = 5


def measure_round(
    client: httpx.Client, path: str, headers: dict[str, str], max_requests: int, max_seconds: float
) -> tuple[float, list[float]]:
    """Requests/s and each request's latency, one keep-alive client calling sequentially."""
    for _ in range(3):  # warm caches and connections
        client.get(path, headers=headers).raise_for_status()
    latencies: list[float] = []
    start = time.perf_counter()
    while len(latencies) < max_requests and time.perf_counter() - start < max_seconds:
        t0 = time.perf_counter()
        r = client.get(path, headers=headers)
        latencies.append(time.perf_counter() - t0)
        r.raise_for_status()
    return len(latencies) / (time.perf_counter() - start), latencies


def run(label: str, url: str) -> list[Figures]:
    print(f"\n== {label} ==")
    seeded = seed(url)
    if url.startswith("postgresql"):
        # Statistics and visibility as autovacuum would leave them by the time anyone asks (the plans depend
        # on them, and this machine's server runs with autovacuum off).
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        engine.dispose()
    auth = {"Authorization": f"Bearer {seeded.token}"}
    groups = seeded.sized_groups
    endpoints = [
        Endpoint("floor: jose + one-row read (bench/floor_app.py)", "/floor/me", True, 400, 1, on_floor=True),
        Endpoint("GET /health", "/health", False, 400, 1),
        Endpoint("authenticated trivial read (GET /api/v1/auth/me)", "/api/v1/auth/me", True, 400, 1),
        *(
            Endpoint(
                f"group compliance, {size} members",
                f"/api/v1/groups/{groups[size]}/compliance",
                True,
                200,
                1.6,
            )
            for size in SIZED
        ),
        *(
            Endpoint(
                f"group compliance, {size} members, first read after a {what}",
                f"/api/v1/groups/{groups[size]}/compliance",
                True,
                40 if size < 1000 else 10,
                2,
                after_write=groups[size],
                write=write,
            )
            for what, write in (("write", floor.write_to_group), ("membership write", floor.write_to_members))
            for size in SIZED
        ),
        Endpoint(f"organisation report, {BIG_GROUPS} x {BIG_GROUP_SIZE}", "/api/v1/compliance", True, 8, 6),
        Endpoint(
            f"organisation report, {BIG_GROUPS} x {BIG_GROUP_SIZE}, first read after a write to one group",
            "/api/v1/compliance",
            True,
            8,
            6,
            after_write=seeded.big_group,
        ),
        Endpoint(
            f"organisation report, {BIG_GROUPS} x {BIG_GROUP_SIZE}, first read after a participant write",
            "/api/v1/compliance",
            True,
            8,
            6,
            after_write=seeded.big_group,
            write=floor.write_to_participant,
        ),
        Endpoint(
            f"organisation report, {BIG_GROUPS} x {BIG_GROUP_SIZE}, first evaluation (an organisation write)",
            "/api/v1/compliance",
            True,
            8,
            6,
            after_write=seeded.big_group,
            write=floor.write_to_organisation,
        ),
        Endpoint(
            f"organisation report, {BIG_GROUPS} x {BIG_GROUP_SIZE}, first evaluation with nothing kept",
            "/api/v1/compliance",
            True,
            8,
            6,
            after_write=seeded.big_group,
            write=floor.write_unplaced,
        ),
        # The trustees' page: the report, every group's findings, the forecast and the trend (HTML).
        Endpoint(f"organisation dashboard page, {BIG_GROUPS} x {BIG_GROUP_SIZE}", "/dashboard", True, 8, 6),
        Endpoint(
            f"organisation dashboard page, {BIG_GROUPS} x {BIG_GROUP_SIZE}, after a write to one group",
            "/dashboard",
            True,
            8,
            6,
            after_write=seeded.big_group,
        ),
    ]
    only_rows = os.environ.get("BENCH_ROWS")
    if only_rows:
        # BENCH_ROWS=words measures only the rows whose names hold them, beside the first three (the floor
        # and the trivial read, which the shares are of).
        endpoints = endpoints[:3] + [e for e in endpoints[3:] if only_rows in e.name]
    rps: dict[str, list[float]] = {e.name: [] for e in endpoints}
    ratios: dict[str, list[float]] = {e.name: [] for e in endpoints}
    shares: dict[str, list[float]] = {e.name: [] for e in endpoints}
    latencies: dict[str, list[float]] = {e.name: [] for e in endpoints}
    floor_name, trivial = endpoints[0].name, endpoints[2].name
    writer = sa.create_engine(url)
    load_at_start = _load()
    with (
        serve(url) as base,
        serve(url, app="bench.floor_app:app", health="/floor/health", port=_floor_port()) as floor_base,
        httpx.Client(base_url=base, timeout=60) as client,
        httpx.Client(base_url=floor_base, timeout=60) as floor_client,
    ):
        # Rounds, each measuring every endpoint in turn, so that a machine slowing down or speeding up during
        # the run moves an endpoint and the floor (and the trivial read) it is compared with alike.
        for _ in range(ROUNDS):
            for e in endpoints:
                headers = auth if e.auth else {}
                c = floor_client if e.on_floor else client
                if e.after_write is not None:
                    r, lat = floor.read_after_write(
                        c, writer, e.after_write, e.path, headers, e.max_requests, e.max_seconds, e.write
                    )
                else:
                    r, lat = measure_round(c, e.path, headers, e.max_requests, e.max_seconds)
                rps[e.name].append(r)
                latencies[e.name].extend(lat)
            for e in endpoints:
                ratios[e.name].append(rps[e.name][-1] / rps[trivial][-1])
                shares[e.name].append(rps[e.name][-1] / rps[floor_name][-1])
        concurrent_figures = _concurrently(floor_base, base, endpoints, auth)
    writer.dispose()
    results = []
    for e in endpoints:
        lat = sorted(latencies[e.name])
        results.append(
            Figures(
                e.name,
                len(lat),
                statistics.median(rps[e.name]),
                statistics.median(lat) * 1000,
                lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
                statistics.median(ratios[e.name]),
                statistics.median(shares[e.name]),
            )
        )
    print(
        f"sequential, one keep-alive client, {ROUNDS} interleaved rounds; load average at the start "
        f"{load_at_start}"
    )
    print(
        f"{'endpoint':<74} {'n':>5} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'vs floor':>9} "
        f"{'vs trivial':>10}"
    )
    for f in results:
        print(
            f"{f.name:<74} {f.requests:>5} {f.rps:>9.1f} {f.p50_ms:>9.2f} {f.p99_ms:>9.2f} {f.floor:>8.0%} "
            f"{f.ratio:>9.0%}"
        )
    print(f"\nconcurrent: {floor.load_client()}, one uvicorn worker each, drained between runs")
    floor_rps = concurrent_figures[floor_name][0]
    for name, (r, bad) in concurrent_figures.items():
        failed = f"  ({bad} answers not 2xx)" if bad else ""
        print(f"{name:<74} {r:>9.1f} req/s {r / floor_rps:>8.0%} of the floor{failed}")
    print(f"load average at the end: {_load()}")
    return results


def _floor_port() -> int | None:
    # BENCH_PORT fixes the product's port; the floor takes the next one.
    return int(os.environ["BENCH_PORT"]) + 1 if os.environ.get("BENCH_PORT") else None


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _concurrently(
    floor_base: str, base: str, endpoints: list[Endpoint], auth: dict[str, str]
) -> dict[str, tuple[float, int]]:
    """The floor, the trivial read and the groups' cached reads, each at 16 connections in turn."""
    chosen = [e for e in endpoints if e.auth and e.after_write is None and "organisation" not in e.name]
    return {e.name: floor.concurrent((floor_base if e.on_floor else base) + e.path, auth) for e in chosen}


def run_forecast(label: str, url: str) -> None:
    """The forecast of the 500-group organisation (90 days, the default, and a year) beside one evaluation
    of it (the organisation report): one keep-alive client, sequential, ROUNDS rounds."""
    print(f"\n== forecast, {label} ==")
    seeded = seed(url)
    if url.startswith("postgresql"):
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        engine.dispose()
    auth = {"Authorization": f"Bearer {seeded.token}"}
    paths = {
        f"organisation report, {BIG_GROUPS} x {BIG_GROUP_SIZE}": "/api/v1/compliance",
        "forecast, 90 days": "/api/v1/compliance/forecast",
        "forecast, 366 days": "/api/v1/compliance/forecast?days=366",
    }
    latencies: dict[str, list[float]] = {name: [] for name in paths}
    with serve(url) as base, httpx.Client(base_url=base, timeout=120) as client:
        for _ in range(ROUNDS):
            for name, path in paths.items():
                latencies[name].extend(measure_round(client, path, auth, 8, 6)[1])
    print(f"{'endpoint':<55} {'n':>5} {'p50 ms':>9} {'p99 ms':>9}")
    for name, lat in latencies.items():
        lat.sort()
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        print(f"{name:<55} {len(lat):>5} {statistics.median(lat) * 1000:>9.2f} {p99:>9.2f}")


def run_publication(label: str, url: str) -> None:
    print(f"\n== publication check, {label} ==")
    people, coordinator_id, staff_id = publication.seed(url, TODAY)
    body = publication.text(people)
    publication.in_process(url, body)
    with serve(url) as base, httpx.Client(base_url=base, timeout=60) as client:
        for who, user_id in (("coordinator", coordinator_id), ("staff (reach: one group of 50)", staff_id)):
            token = tokens.issue(user_id=user_id, epoch=0, secret=os.environ["SECRET_KEY"], minutes=120)
            size = len(body.encode())
            print(f"  over HTTP, as {who}: {size} bytes of HTML against {publication.PEOPLE} people")
            publication.measure(client, {"Authorization": f"Bearer {token}"}, body)


def run_rosters(label: str, url: str) -> None:
    print(f"\n== roster reconciliation, {label} ==")
    rosters.run(url, TODAY)


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A throwaway database on the server, dropped afterwards."""
    # BENCH_DB_PREFIX: where several engineers share one server, each names their own databases.
    name = f"{os.environ.get('BENCH_DB_PREFIX', 'esafety_bench')}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    # BENCH_ONLY=compliance, forecast, publication or rosters runs one part; all by default (BENCH_ROWS: run).
    only = os.environ.get("BENCH_ONLY", "")
    server = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="esafety-bench-") as tmp:
        if only in ("", "compliance"):
            run("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}")
        if only in ("", "forecast"):
            run_forecast("SQLite", f"sqlite:///{Path(tmp) / 'forecast.db'}")
        if only in ("", "publication"):
            run_publication("SQLite", f"sqlite:///{Path(tmp) / 'publication.db'}")
        if only in ("", "rosters"):
            run_rosters("SQLite", f"sqlite:///{Path(tmp) / 'rosters.db'}")
    if server:
        if only in ("", "compliance"):
            with postgres_database(server) as url:
                run("PostgreSQL", url)
        if only in ("", "forecast"):
            with postgres_database(server) as url:
                run_forecast("PostgreSQL", url)
        if only in ("", "publication"):
            with postgres_database(server) as url:
                run_publication("PostgreSQL", url)
        if only in ("", "rosters"):
            with postgres_database(server) as url:
                run_rosters("PostgreSQL", url)
    else:
        print("\nBENCH_DATABASE_URL not set: PostgreSQL skipped")


if __name__ == "__main__":
    main()
