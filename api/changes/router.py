from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.permissions import ChangesRead
from api.auth.reach import ReachDep
from api.changes import service
from api.changes.models import ChangesPage
from api.common import DIGITS_ONLY
from api.config import get_settings
from api.db import utcnow
from api.deps import SessionDep

router = APIRouter()


@router.get("", response_model=ChangesPage, summary="List changes since a cursor")
def list_changes(
    session: SessionDep,
    _: ChangesRead,
    reach: ReachDep,
    since: Annotated[
        int,
        Query(ge=0, le=2**63 - 1, description="A `next_cursor` from before; 0 for the beginning"),
        DIGITS_ONLY,
    ] = 0,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Changes per page (at most 1,000)"), DIGITS_ONLY
    ] = 100,
) -> ChangesPage:
    """Created, updated and ended records of every resource the caller may read, oldest first.

    Each change names the record (type and id) and what happened to it, never its contents: fetch the
    record to mirror it. Resume from `next_cursor`; when `has_more` is false, poll again later. A change
    appears a couple of seconds after it is made (`CHANGES_SETTLE_SECONDS`), so that changes committed
    out of order are never skipped.
    """
    return service.list_(
        session=session,
        reach=reach,
        since=since,
        limit=limit,
        now=utcnow(),
        settle=timedelta(seconds=get_settings().changes_settle_seconds),
    )
