from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.audit import service
from api.audit.models import AuditEvent, AuditEventPublic
from api.auth.permissions import AuditRead
from api.common import Page, PageDep
from api.db import SessionDep
from api.errors import Unprocessable

# Read only, by design: the audit log is append-only, so no route changes or deletes an event.
router = APIRouter()


@router.get("", response_model=Page[AuditEventPublic], summary="List audit events")
def list_audit_events(
    session: SessionDep,
    _: AuditRead,
    paging: PageDep,
    entity_type: Annotated[str | None, Query(max_length=64, description="e.g. staff, user_account")] = None,
    entity_id: Annotated[uuid.UUID | None, Query(description="The record the event is about")] = None,
    actor_id: Annotated[uuid.UUID | None, Query(description="The user or API key that acted")] = None,
    action: Annotated[str | None, Query(max_length=64, description="e.g. staff.update, auth.sign_in")] = None,
    since: Annotated[AwareDatetime | None, Query(description="From this moment (inclusive)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Before this moment (exclusive)")] = None,
) -> Page[AuditEvent]:
    """Who did what, to which record, when, with the fields changed before and after; newest first.
    Timestamps need an offset (`2025-01-31T09:00:00Z`)."""
    if since is not None and until is not None and until <= since:
        raise Unprocessable.field(
            "until", f"until ({until.isoformat()}) is not after since ({since.isoformat()})"
        )
    return service.list_(
        session=session,
        paging=paging,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        action=action,
        since=since,
        until=until,
    )
