from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.db import get_engine
from api.described import DESCRIBED
from api.errors import problem, problem_response
from api.migrations import current_revision, head_revision
from api.problems import ProblemCode

router = APIRouter(tags=["health"])


class Health(BaseModel):
    model_config = DESCRIBED
    status: str
    """Always "ok": the process is up and answering."""


class Ready(BaseModel):
    model_config = DESCRIBED
    status: str
    """"ready": the database answers and its migrations are at head."""
    database: str
    """The database kind: sqlite or postgresql."""
    revision: str | None
    """The migration the database is at; null for an empty database."""
    head: str
    """The latest migration this code knows."""


@router.get("/health", response_model=Health, summary="Alive")
def health() -> Health:
    """The process is up. No authentication, no database."""
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Ready,
    responses={
        503: problem("The database is unreachable or its migrations are not at head", ProblemCode.not_ready)
    },
    summary="Ready to serve",
)
def ready() -> Ready | JSONResponse:
    """The database answers and its schema is at the latest migration. No authentication."""
    head = head_revision()
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
            revision = current_revision(conn)
    except Exception:  # any failure to reach the database means "not ready", never a 500
        return _not_ready("unreachable", None, head, "The database does not answer")
    if revision != head:
        detail = f"The database is at migration {revision or 'none'}, not {head}: run `esafety migrate`"
        return _not_ready("behind", revision, head, detail)
    return Ready(status="ok", database="ok", revision=revision, head=head)


def _not_ready(database: str, revision: str | None, head: str, detail: str) -> JSONResponse:
    # A problem document like every other error, with the readiness fields so a probe can tell why.
    extra = {"database": database, "revision": revision, "head": head}
    return problem_response(ProblemCode.not_ready, detail, extra=extra, headers={"Retry-After": "1"})
