from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.db import get_engine
from api.errors import problem
from api.migrations import current_revision, head_revision

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: str
    revision: str | None
    head: str


@router.get("/health", response_model=Health, summary="Alive")
def health() -> Health:
    """The process is up. No authentication, no database."""
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: problem("The database is unreachable or its migrations are not at head")},
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
        body = Ready(status="unavailable", database="unreachable", revision=None, head=head)
        return JSONResponse(body.model_dump(), status_code=503)
    if revision != head:
        body = Ready(status="unavailable", database="behind", revision=revision, head=head)
        return JSONResponse(body.model_dump(), status_code=503)
    return Ready(status="ok", database="ok", revision=revision, head=head)
