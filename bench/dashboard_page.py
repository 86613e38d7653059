"""The trustees' dashboard page of the 500 x 50 organisation, in process (a TestClient, a bearer token): the
first view, views again with nothing changed, and views each right after a write to one group (its URL). Not
a test: it prints figures (bench/README.md). It reads the SQLite file `bench/org_load.py` seeds (run that
first), or ORG_LOAD_URL.

    python bench/dashboard_page.py [VIEWS]
    ORG_LOAD_TREE=<checkout> python bench/dashboard_page.py    another checkout's page (main before a change)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = os.environ.get("ORG_LOAD_TREE", str(ROOT))
sys.path.insert(0, TREE)
DB = Path(os.environ.get("ORG_LOAD_DB") or Path(tempfile.gettempdir()) / "org-load-bench.db")
URL = os.environ.get("ORG_LOAD_URL") or f"sqlite:///{DB}"
os.environ.update(DATABASE_URL=URL, SECRET_KEY="bench-secret-" + "x" * 40, ENVIRONMENT="development")
os.environ["LOG_LEVEL"] = "WARNING"

from fastapi.testclient import TestClient  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

import api.models  # noqa: E402, F401  (registers every table)
from api.auth import tokens  # noqa: E402
from api.auth.models import User  # noqa: E402
from api.config import get_settings  # noqa: E402
from api.db import get_engine  # noqa: E402
from api.groups.models import Group  # noqa: E402
from api.main import create_app  # noqa: E402


def main() -> None:
    views = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    engine = get_engine()
    with Session(engine) as s:
        user = s.exec(select(User).order_by(col(User.id))).first()
        group = s.exec(select(Group).order_by(col(Group.id))).first()
        if user is None or group is None:
            sys.exit("seed it first: python bench/org_load.py 1")
        secret = get_settings().secret_key.get_secret_value()
        token = tokens.issue(user_id=user.id, epoch=user.token_epoch, secret=secret, minutes=30)
    headers = {"Authorization": f"Bearer {token}"}

    def write() -> None:
        with Session(engine) as s:
            g = s.get(Group, group.id)
            assert g is not None
            g.url = f"https://example.org/bench/{uuid.uuid4().hex[:8]}"
            s.add(g)
            s.commit()

    with TestClient(create_app(), base_url="https://testserver") as client:

        def view() -> float:
            start = time.perf_counter()
            r = client.get("/dashboard", headers=headers)
            assert r.status_code == 200, r.text[:300]
            return (time.perf_counter() - start) * 1000

        first = view()
        again = [view() for _ in range(views)]
        after = []
        for _ in range(views):
            write()
            after.append(view())
    print(
        f"{Path(TREE).name}: first view {first:.0f} ms; again, p50 {statistics.median(again):.1f} ms; "
        f"after a write to one group, p50 {statistics.median(after):.1f} ms; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
