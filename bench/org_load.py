"""The organisation report's first evaluation (500 groups x 50), in process: its loading against the floor of
that work, which the HTTP bench cannot separate. Not a test: it prints figures (bench/README.md).

    python bench/org_load.py [ROUNDS]        SQLite (a file kept in $ORG_LOAD_DB, seeded by the first run)
    ORG_LOAD_URL=postgresql+psycopg://... python bench/org_load.py      PostgreSQL (seeded if empty)

For each round it times, in one read transaction each:
- the floor: the loading's own SQL, written by `fetch` exactly as the report sends it, run on the bare
  driver cursor, every row fetched as a tuple (psycopg: ids and JSON as text) and nothing built;
- `loading._load` for every active group (the statements plus decoding the rows into facts);
- `service.organisation_report` whole (loading, the 503 evaluations, the organisation's own findings).
Medians over the rounds, with the rows loaded per millisecond.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# ORG_LOAD_TREE=<checkout>: measure another checkout's loading (main, before a change) with this script.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, os.environ.get("ORG_LOAD_TREE", str(ROOT)))
DB = Path(os.environ.get("ORG_LOAD_DB") or Path(tempfile.gettempdir()) / "org-load-bench.db")
URL = os.environ.get("ORG_LOAD_URL") or f"sqlite:///{DB}"
os.environ.update(DATABASE_URL=URL, SECRET_KEY="bench-secret-" + "x" * 40, ENVIRONMENT="development")
os.environ["LOG_LEVEL"] = "WARNING"

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from psycopg.types.string import TextLoader  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

import api.models  # noqa: E402, F401  (registers every table)
from api import clock  # noqa: E402
from api.auth.models import User  # noqa: E402
from api.auth.principal import user_principal  # noqa: E402
from api.auth.reach import Reach  # noqa: E402
from api.compliance import fetch, loading, service  # noqa: E402
from api.compliance.policy_facts import _POLICY_IN_FORCE, _THRESHOLDS  # noqa: E402
from api.compliance.queries import _GROUP_COLUMNS, GROUP, _queries  # noqa: E402
from api.config import get_settings  # noqa: E402
from bench import run as bench_run  # noqa: E402

_report_queries: Callable[..., Any]
try:  # the report's own statements: the consents answered, the staff apart (branch perf-org2 on)
    from api.compliance.answered import answered_queries as _report_queries
except ImportError:  # an older checkout (ORG_LOAD_TREE)
    _report_queries = _queries


def _report_load(active: Any) -> Any:
    """The queries `loading.load_active` hands `_load` for the bench's caller, who reaches every group: the
    consents of every participant where the checkout reads them so (branch `org2` on)."""
    in_active = lambda column: column.in_(sa.select(GROUP.c.id).where(active))  # noqa: E731
    try:
        return _report_queries(in_active, every_participant=True)
    except TypeError:  # an older checkout
        return _report_queries(in_active)


def _seeded(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("online_group"):
            return False
        return bool(conn.execute(sa.text("SELECT count(*) FROM online_group")).scalar())


def _statements(reach: Reach) -> tuple[list[fetch.Statement], dict[str, Any]]:
    """The statements `organisation_report` hands `_load`, in its order, and their parameters."""
    as_of = clock.today()
    active = sa.and_(service._active_on(as_of), reach.groups(GROUP.c.id))
    q = _report_load(active)
    groups = sa.select(*_GROUP_COLUMNS).where(active).order_by(GROUP.c.name, GROUP.c.id)
    statements: list[fetch.Statement] = [groups, _THRESHOLDS, q.consents, q.members, q.reviews, q.risks]
    statements += [q.incidents, q.waivers, _POLICY_IN_FORCE]
    if q.declarations is not None:
        statements.append(q.declarations)
    staff = getattr(q, "staff", None)
    if staff is not None:
        statements.append(staff)
    return statements, {"as_of": as_of, "as_of_end": clock.start_of(as_of + timedelta(days=1))}


def _cheapest(cursor: Any) -> None:
    """psycopg: ids and JSON as text, its cheapest form (no UUID objects, no parsing), whatever the loads
    being measured do; SQLite gives text already."""
    if isinstance(cursor, psycopg.Cursor):
        for type_name in ("uuid", "json", "jsonb"):
            cursor.adapters.register_loader(type_name, TextLoader)


def _timed(rounds: int, work: Callable[[], Any]) -> tuple[float, float, Any]:
    """The median wall time and the least CPU time of this process (ms) over the rounds, and the result. On
    a shared machine the CPU time moves least; on PostgreSQL it leaves out the server's share."""
    wall, cpu, result = [], [], None
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = work()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall) * 1000, min(cpu) * 1000, result


def main() -> None:
    # As the served app sets it (api/main.py): the report's time depends on it.
    gc.set_threshold(get_settings().gc_threshold0, *gc.get_threshold()[1:])
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    engine = sa.create_engine(URL)
    if not _seeded(engine):
        bench_run.seed(URL)
        if URL.startswith("postgresql"):
            with sa.create_engine(URL, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
    from api.db import get_engine

    app_engine = get_engine()
    with Session(app_engine) as s:
        user = s.exec(select(User)).first()
        assert user is not None
        reach = Reach.of(user_principal(user))
    statements, params = _statements(reach)

    # The floor's statements are written once: compiling them is SQLAlchemy's work, not the database's.
    plans = [fetch._plan(st, app_engine.dialect, params) for st in statements]

    def floor() -> int:
        with app_engine.connect() as conn:
            driver = conn.connection.driver_connection
            cursor = driver.cursor()  # type: ignore[union-attr]
            _cheapest(cursor)
            n = 0
            for p in plans:
                cursor.execute(p.sql, p.arguments(params))
                n += len(cursor.fetchall())
            conn.rollback()
            return n

    def per_statement() -> list[tuple[int, float]]:
        out = []
        with app_engine.connect() as conn:
            driver = conn.connection.driver_connection
            cursor = driver.cursor()  # type: ignore[union-attr]
            _cheapest(cursor)
            for st in statements:
                p = fetch._plan(st, conn.dialect, params)
                start = time.perf_counter()
                cursor.execute(p.sql, p.arguments(params))
                rows = cursor.fetchall()
                out.append((len(rows), (time.perf_counter() - start) * 1000))
            conn.rollback()
        return out

    def load() -> Any:
        with Session(app_engine) as s:
            as_of = clock.today()
            active = sa.and_(service._active_on(as_of), reach.groups(GROUP.c.id))
            return loading._load(
                s,
                sa.select(*_GROUP_COLUMNS).where(active).order_by(GROUP.c.name, GROUP.c.id),
                _report_load(active),
                {"as_of": as_of},
                as_of,
            )

    def report() -> Any:
        with Session(app_engine) as s:
            return service.organisation_report(session=s, reach=reach, as_of=clock.today())

    # Warm up every path once (imports, the dialect's caches, the database's pages).
    floor(), load(), report()
    floor_ms, floor_cpu, rows = _timed(rounds, floor)
    load_ms, load_cpu, _ = _timed(rounds, load)
    report_ms, report_cpu, _ = _timed(rounds, report)
    print(f"{URL.split(':')[0]}: {rows} rows in {len(statements)} statements; load average {os.getloadavg()}")
    for (n, ms), st in zip(per_statement(), statements, strict=True):
        first = str(st.compile(dialect=app_engine.dialect)).split("\n")[0][:70]
        print(f"  {n:>7} rows {ms:8.1f} ms  {first}")
    print(f"{'':26}{'wall ms':>9}{'rows/ms':>9}{'CPU ms':>9}{'rows/ms':>9}  (median wall, least CPU)")
    for name, ms, cpu in (
        ("floor (driver, tuples)", floor_ms, floor_cpu),
        ("loading._load", load_ms, load_cpu),
        ("organisation_report", report_ms, report_cpu),
    ):
        print(f"{name:26}{ms:9.1f}{rows / ms:9.1f}{cpu:9.1f}{rows / cpu:9.1f}")
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
