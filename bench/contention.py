"""`make bench` (second part): reads and writes side by side. Not a test: it reports figures.

Two writers PATCH records as fast as they can while a reader reads, against a served app: how many writes
fail (SQLite used to answer 503 to a writer that met another), the writers' throughput, and whether the
reads slow down beside them (they must not wait for the write lock). The reads are measured alone too.

`BENCH_TREE=/path/to/another/checkout` serves that checkout's code instead (same database and seed), to
compare before and after a change. SQLite always; PostgreSQL too when BENCH_DATABASE_URL names a server.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import SECRET, _row, serve  # noqa: E402

os.environ.setdefault("SECRET_KEY", SECRET)
# The reads here are far more than a minute's allowance for one key: measure the database, not the limit.
os.environ.setdefault("API_KEY_RATE_PER_MINUTE", "1000000")

from api import clock  # noqa: E402
from api.auth import tokens  # noqa: E402
from api.auth.principal import hash_api_key  # noqa: E402
from api.migrations import upgrade  # noqa: E402

READS = 400
SECONDS = 8.0


def seed(url: str) -> tuple[dict[str, str], dict[str, str], list[uuid.UUID]]:
    """A coordinator's token, an API key's header, and the ids of the staff records the writers change."""
    upgrade(url)
    from sqlmodel import SQLModel

    import api.models  # noqa: F401  (registers every table)

    t = SQLModel.metadata.tables
    today = clock.today()
    staff = [
        _row(
            full_name=f"Staff {i}",
            email=f"staff{i}@moremusic.org.uk",
            employment_type="employee",
            started_on=today.replace(year=today.year - 2),
            is_esafety_coordinator=i == 0,
            uses_social_media_for_work=False,
        )
        for i in range(50)
    ]
    user = _row(
        staff_id=staff[0]["id"],
        email=staff[0]["email"],
        password_hash="not-used-by-the-bench",
        role="coordinator",
        is_active=True,
        token_epoch=0,
    )
    secret = "esk_bench_" + uuid.uuid4().hex
    key = _row(name="bench", prefix=secret[:8], key_hash=hash_api_key(secret), scopes=["read", "sync:write"])
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(t["staff"]), staff)
        conn.execute(sa.insert(t["user_account"]), [user])
        conn.execute(sa.insert(t["api_key"]), [key])
    engine.dispose()
    token = tokens.issue(user_id=user["id"], epoch=0, secret=os.environ["SECRET_KEY"], minutes=120)
    return {"Authorization": f"Bearer {token}"}, {"X-API-Key": secret}, [s["id"] for s in staff[1:3]]


def read(base: str, path: str, headers: dict[str, str]) -> tuple[list[float], int]:
    """Sequential reads on one keep-alive connection; each one's latency, and how many failed."""
    latencies: list[float] = []
    failed = 0
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(3):  # warm up (an old version may fail these too: they are not counted)
            client.get(path, headers=headers)
        start = time.perf_counter()
        while len(latencies) < READS and time.perf_counter() - start < SECONDS:
            t0 = time.perf_counter()
            failed += client.get(path, headers=headers).status_code != 200
            latencies.append(time.perf_counter() - t0)
    return latencies, failed


@contextmanager
def writers(base: str, headers: dict[str, str], ids: list[uuid.UUID]) -> Iterator[Counter[int]]:
    """Two writers, each PATCHing its own record in a loop until the block ends; their answers' statuses."""
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def write(staff_id: uuid.UUID) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            n = 0
            while not stop.is_set():
                n += 1
                r = client.patch(f"/api/v1/staff/{staff_id}", json={"job_title": f"t{n}"}, headers=headers)
                statuses[r.status_code] += 1

    threads = [threading.Thread(target=write, args=(i,)) for i in ids]
    for th in threads:
        th.start()
    try:
        yield statuses
    finally:
        stop.set()
        for th in threads:
            th.join()


def _ms(latencies: list[float], q: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def run(label: str, url: str) -> None:
    token, key, ids = seed(url)
    tree = Path(os.environ.get("BENCH_TREE", ROOT))
    print(f"\n== {label} (code from {tree}) ==")
    columns = ("reads", "failed", "p50 ms", "p99 ms", "writes", "503s", "w/s")
    print(f"{'measure':<44} " + " ".join(f"{c:>7}" for c in columns))
    with serve(url, cwd=tree) as base:
        for who, headers in (("token", token), ("API key", key)):
            path = f"/api/v1/staff/{ids[0]}"
            alone, failed = read(base, path, headers)
            name = f"read alone ({who})"
            print(f"{name:<44} {len(alone):>7} {failed:>7} {_ms(alone, 0.5):>7.2f} {_ms(alone, 0.99):>7.2f}")
            started = time.perf_counter()
            with writers(base, token, ids) as statuses:
                beside, failed = read(base, path, headers)
            elapsed = time.perf_counter() - started
            total = sum(statuses.values())
            name = f"read beside two writers ({who})"
            print(
                f"{name:<44} {len(beside):>7} {failed:>7} {_ms(beside, 0.5):>7.2f} {_ms(beside, 0.99):>7.2f} "
                f"{total:>7} {statuses[503]:>7} {total / elapsed:>7.1f}"
            )
            others = {k: v for k, v in statuses.items() if k not in (200, 503)}
            if others:
                print(f"  other write answers: {others}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="esafety-bench-") as tmp:
        run("SQLite", f"sqlite:///{Path(tmp) / 'contention.db'}")
    server = os.environ.get("BENCH_DATABASE_URL")
    if server:
        name = f"esafety_bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            run("PostgreSQL", make_url(server).set(database=name).render_as_string(hide_password=False))
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
