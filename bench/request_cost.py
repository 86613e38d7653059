"""What one signed-in request costs, counted rather than timed, so a busy machine does not move the figures:
thread-pool hand-offs, ASGI middleware passes, statements and transaction round trips, ORM objects built,
for `GET /api/v1/auth/me` on the product and `GET /floor/me` on the floor (bench/floor_app.py), and a group's
compliance read answered from the compliance cache (`group`: the database's largest group of at most 100
members, or REQUEST_COST_GROUP) and the same read each after a write to the group (`first`: bench/floor.py's
write, made from another engine and left out of every count), driven in process through ASGI (no network,
no client library), N requests each after a warm-up.

    python bench/request_cost.py [N]                      the counts per request
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p python bench/request_cost.py N WHAT
                                                          instructions: run with N and with 0, subtract
    REQUEST_COST_CALLGRIND=1 valgrind --tool=callgrind --instr-atstart=no \
        python bench/request_cost.py N WHAT               instructions of the N requests alone ("Collected")

WHAT is product, floor, group or first.
The database is a fresh SQLite file (or the PostgreSQL database REQUEST_COST_DATABASE_URL names) with one
member of staff and their coordinator account; for `group`, one seeded by `make bench` (bench/run.py `seed`,
REQUEST_COST_DB or REQUEST_COST_DATABASE_URL naming it), whose one account is the coordinator.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# BENCH_TREE=<checkout>: count another checkout's product (main, before a change) with this script and floor.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, os.environ.get("BENCH_TREE", str(ROOT)))
# REQUEST_COST_DB: a file kept between runs (seeded by the first), so a run under valgrind does not migrate.
# REQUEST_COST_DATABASE_URL: a PostgreSQL database instead (it must exist; the first run migrates, seeds it).
DB = Path(os.environ.get("REQUEST_COST_DB") or Path(tempfile.mkdtemp(prefix="request-cost-")) / "cost.db")
URL = os.environ.get("REQUEST_COST_DATABASE_URL") or f"sqlite:///{DB}"
os.environ.update(DATABASE_URL=URL, SECRET_KEY="bench-secret-" + "x" * 40, ENVIRONMENT="development")
os.environ["LOG_LEVEL"] = "WARNING"

import anyio.to_thread  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

import api.models  # noqa: E402
from api.auth import tokens  # noqa: E402
from api.migrations import upgrade  # noqa: E402

counts: Counter[str] = Counter()


def seed() -> str:
    engine = sa.create_engine(URL)
    if not URL.startswith("sqlite") or (DB.exists() and DB.stat().st_size):
        with engine.connect() as c:
            seeded = sa.inspect(c).has_table("user_account")
            found = c.execute(sa.text("SELECT id FROM user_account")).first() if seeded else None
        engine.dispose()
        if found is not None:
            user_id = uuid.UUID(str(found[0]))
            return tokens.issue(user_id=user_id, epoch=0, secret=os.environ["SECRET_KEY"], minutes=600)
    upgrade(URL)
    staff_id, user_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    common = {"created_at": now, "updated_at": now, "version": 1}
    with engine.begin() as c:
        c.execute(
            api.models.Staff.__table__.insert(),  # type: ignore[attr-defined]
            {
                "id": staff_id,
                "full_name": "Nadia",
                "email": "nadia@example.org",
                "employment_type": "employee",
                "started_on": date(2020, 1, 1),
                "is_esafety_coordinator": True,
                "uses_social_media_for_work": False,
                **common,
            },
        )
        c.execute(
            api.models.User.__table__.insert(),  # type: ignore[attr-defined]
            {
                "id": user_id,
                "staff_id": staff_id,
                "email": "nadia@example.org",
                "password_hash": "x",
                "role": "coordinator",
                "is_active": True,
                "token_epoch": 0,
                **common,
            },
        )
    engine.dispose()
    return tokens.issue(user_id=user_id, epoch=0, secret=os.environ["SECRET_KEY"], minutes=600)


def sized_group() -> str | None:
    """The largest group of at most 100 members (bench/run.py seeds one of exactly 100), or
    REQUEST_COST_GROUP; None in a database with no members."""
    if os.environ.get("REQUEST_COST_GROUP"):
        return os.environ["REQUEST_COST_GROUP"]
    engine = sa.create_engine(URL)
    with engine.connect() as c:
        found = c.execute(
            sa.text(
                "SELECT group_id FROM membership GROUP BY group_id HAVING count(*) <= 100 "
                "ORDER BY count(*) DESC LIMIT 1"
            )
        ).first()
    engine.dispose()
    return None if found is None else str(uuid.UUID(str(found[0])))


def instrument() -> None:
    real = anyio.to_thread.run_sync

    async def counted(*args: Any, **kwargs: Any) -> Any:
        counts["thread-pool hand-offs"] += 1
        return await real(*args, **kwargs)

    anyio.to_thread.run_sync = counted  # type: ignore[assignment]

    @event.listens_for(sa.Engine, "before_cursor_execute")
    def _statement(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        counts["statements"] += 1
        if os.environ.get("SHOW_SQL"):
            print(statement[:150])
        if statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            counts["transaction statements"] += 1

    @event.listens_for(sa.Engine, "begin")
    def _begin(_c: Any) -> None:
        counts["transactions begun"] += 1

    @event.listens_for(sa.Engine, "commit")
    def _commit(_c: Any) -> None:
        counts["commits"] += 1

    @event.listens_for(sa.Engine, "rollback")
    def _rollback(_c: Any) -> None:
        counts["rollbacks"] += 1

    def _load(*_a: Any) -> None:
        counts["ORM objects loaded"] += 1

    for mapper in SQLModel._sa_registry.mappers:
        event.listen(mapper.class_, "load", _load)


def middleware_passes(app: Any) -> int:
    """ASGI layers a request goes through before the router: the built middleware stack's depth."""
    layer = app.build_middleware_stack() if hasattr(app, "build_middleware_stack") else app
    depth = 0
    while layer is not None and not hasattr(layer, "routes"):
        depth += 1
        layer = getattr(layer, "app", None)
    return depth


async def served(app: Any, work: Coroutine[Any, Any, None]) -> None:
    """`work` within the app's lifespan, as uvicorn serves it: the collector's threshold and the start-up
    objects frozen out of its sight (api/main.py) are the served ones, not Python's defaults, which made
    an evaluation's allocations trigger collections a served request does not run."""
    async with app.router.lifespan_context(app):
        await work


async def drive(app: Any, path: str, token: str, n: int, before: Callable[[], None] | None = None) -> None:
    """`n` GETs of `path`, each after `before()` when given (its statements left out of the counts)."""
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"host", b"bench")]
    for _ in range(n):
        if before is not None:
            kept = counts.copy()
            before()
            counts.clear()
            counts.update(kept)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("bench", 80),
        }
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any], status: list[int] = status) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)
        if status != [200]:
            raise SystemExit(f"{path} answered {status}")


async def measured(app: Any, path: str, token: str, n: int, before: Callable[[], None] | None = None) -> None:
    """Warm up, then serve `n` requests with callgrind's instrumentation on for them alone (the process must
    run under `valgrind --tool=callgrind --instr-atstart=no`): its total is the requests' own, no start-up
    and no subtraction of two runs; with `before`, on for each request and off for the write before it."""
    await drive(app, path, token, 50, before)
    toggle = ["callgrind_control", "-i"]
    pid = str(os.getpid())
    for batch in [1] * n if before is not None else [n]:
        if before is not None:
            before()
        subprocess.run([*toggle, "on", pid], check=True, capture_output=True)
        await drive(app, path, token, batch)
        subprocess.run([*toggle, "off", pid], check=True, capture_output=True)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    only = sys.argv[2] if len(sys.argv) > 2 else None
    token = seed()
    from api.main import create_app

    sys.path.insert(0, str(ROOT / "bench"))
    # This checkout's floor, whatever BENCH_TREE says.
    # `first`'s write, from this checkout whatever BENCH_TREE says.
    import floor  # type: ignore[import-not-found]
    import floor_app  # type: ignore[import-not-found]

    product = create_app()
    apps = {"product": (product, "/api/v1/auth/me"), "floor": (floor_app.app, "/floor/me")}
    group = sized_group()
    befores: dict[str, Callable[[], None]] = {}
    if group is not None:
        apps["group"] = apps["first"] = (product, f"/api/v1/groups/{group}/compliance")
        writer = sa.create_engine(URL)
        befores["first"] = partial(floor.write_to_group, writer, uuid.UUID(group))
    if only:
        app, path = apps[only]
        if os.environ.get("REQUEST_COST_CALLGRIND"):
            asyncio.run(served(app, measured(app, path, token, n, befores.get(only))))
            return
        # The same warm-up whatever N: subtract two runs.
        asyncio.run(served(app, drive(app, path, token, 20 + n, befores.get(only))))
        return
    instrument()
    for name, (app, path) in apps.items():
        asyncio.run(served(app, drive(app, path, token, 20, befores.get(name))))
        counts.clear()
        asyncio.run(served(app, drive(app, path, token, n, befores.get(name))))
        print(f"{name} GET {path}: middleware passes {middleware_passes(app)}")
        for key in sorted(counts):
            print(f"  {key:<28} {counts[key] / n:>6.2f} per request")


if __name__ == "__main__":
    main()
