"""The compliance answers' first evaluation in process, split into loading and evaluating: the organisation
report (every group of bench/run.py's seed) and one group each of 50, 100 and 1,000 members. Not a test:
it prints figures (record them in bench/README.md).

    .venv/bin/python bench/evaluation.py [DATABASE_URL]

Without a URL it seeds a throwaway SQLite database; with one (an empty database, e.g. a fresh PostgreSQL
database) it seeds that. The collector is set as the server sets it (api/main.py), so that collections cost
what they cost when served. Each figure is the median and the best of several calls, in ms, of wall
and of CPU time.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, create_engine  # noqa: E402

from api import clock  # noqa: E402
from api.auth.principal import Principal  # noqa: E402
from api.auth.reach import Reach  # noqa: E402
from api.auth.roles import Role, permissions_for  # noqa: E402
from api.compliance import cache, service  # noqa: E402
from api.compliance.engine import cite, evaluate, verdicts  # noqa: E402
from api.compliance.loading import _load, _snapshot, load_group  # noqa: E402
from api.compliance.queries import _GROUP_COLUMNS, GROUP, _queries  # noqa: E402
from api.compliance.rules import GROUP_RULES  # noqa: E402
from api.compliance.snapshot import GroupFacts, Thresholds  # noqa: E402
from api.config import get_settings  # noqa: E402
from bench import run as bench_run  # noqa: E402


def _timed(label: str, call: Callable[[], Any], times: int) -> None:
    """Wall time, and this process's CPU time: on a shared machine a call is often taken off the CPU part way
    through, so wall times spread; CPU time barely moves (the figure to compare between runs under load)."""
    wall, cpu = [], []
    for _ in range(times):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    print(
        f"  {label:<44} wall median {statistics.median(wall):>8.2f} best {min(wall):>8.2f}   "
        f"CPU median {statistics.median(cpu):>8.2f} best {min(cpu):>8.2f}  ({times} calls)"
    )


def _organisation(session: Session, reach: Reach, as_of: date) -> uuid.UUID:
    """Times the organisation report's load, its evaluation and the whole report; returns one of its groups.
    What it loads is dropped on return: kept, it would stay in the collector's sight and slow every group's
    figure measured after it."""
    active = sa.and_(service._active_on(as_of), reach.groups(GROUP.c.id))

    def load_all() -> tuple[list[tuple[Any, GroupFacts]], Thresholds, Any]:
        return _load(
            session,
            sa.select(*_GROUP_COLUMNS).where(active).order_by(GROUP.c.name, GROUP.c.id),
            _queries(lambda column: column.in_(sa.select(GROUP.c.id).where(active))),
            {"as_of": as_of},
            as_of,
        )

    groups, thresholds, loaded = load_all()
    snapshots = [(_snapshot(k, g, loaded, as_of, thresholds), loaded.waivers.get(k)) for k, g in groups]
    print(f"organisation report, {len(snapshots)} groups")
    _timed("load (every group)", load_all, 5)
    _timed("evaluate (each group's verdicts)", lambda: [verdicts(GROUP_RULES, s, w) for s, w in snapshots], 5)
    _timed(
        "the whole report as JSON bytes",
        lambda: orjson.dumps(service.organisation_report(session=session, reach=reach, as_of=as_of)),
        5,
    )
    first: uuid.UUID = groups[0][1].id
    return first


def measure(url: str) -> None:
    seeded = bench_run.seed(url)
    if url.startswith("postgresql"):
        with sa.create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine = create_engine(url)
    with engine.connect() as conn:
        user_id, staff_id = conn.execute(sa.text("SELECT id, staff_id FROM user_account")).one()
    to_uuid = uuid.UUID
    principal = Principal(
        "user",
        user_id if isinstance(user_id, to_uuid) else to_uuid(hex=user_id),
        Role.coordinator,
        "bench",
        staff_id if isinstance(staff_id, to_uuid) else to_uuid(hex=staff_id),
        permissions_for(Role.coordinator),
    )
    reach = Reach.of(principal)
    as_of = clock.today()
    gc.set_threshold(get_settings().gc_threshold0, *gc.get_threshold()[1:])
    gc.freeze()
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with Session(engine) as session:
        fifty = _organisation(session, reach, as_of)
        gc.collect()
        for size, group_id in ((50, fifty), *sorted(seeded.sized_groups.items())):
            snapshot, waivers = load_group(session=session, group_id=group_id, as_of=as_of, reach=reach)
            times = 10 if size >= 1000 else 50
            print(f"group, {size} members")

            def load(gid: uuid.UUID = group_id) -> object:
                return load_group(session=session, group_id=gid, as_of=as_of, reach=reach)

            def evaluated(s: Any = snapshot, w: Any = waivers) -> object:
                return cite(evaluate(GROUP_RULES, s, w), s.policy)

            _timed("load", load, times)
            _timed("evaluate and cite", evaluated, times)

            def answer(gid: uuid.UUID = group_id) -> bytes:
                with cache.disabled():
                    return cache.group_report_json(session=session, reach=reach, group_id=gid, as_of=as_of)

            _timed("the whole answer as JSON bytes (no cache)", answer, times)

            def first_read(gid: uuid.UUID = group_id) -> bytes:
                # A first read after a write to the group: its entries gone, the organisation's kept.
                cache.clear_groups()
                return cache.group_report_json(session=session, reach=reach, group_id=gid, as_of=as_of)

            _timed("first read after a write to the group (cache)", first_read, times)

            def first_read_of_all(gid: uuid.UUID = group_id) -> bytes:
                # After a write to the organisation (the policy, a member of staff): nothing kept.
                cache.clear()
                return cache.group_report_json(session=session, reach=reach, group_id=gid, as_of=as_of)

            _timed("first read after an organisation write (cache)", first_read_of_all, times)
    engine.dispose()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    if len(sys.argv) > 1:
        measure(sys.argv[1])
        return
    with tempfile.TemporaryDirectory(prefix="esafety-evaluation-") as tmp:
        measure(f"sqlite:///{Path(tmp) / 'bench.db'}")


if __name__ == "__main__":
    main()
