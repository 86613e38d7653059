"""The few steps every domain's service repeats: fetch-or-404, apply a patch, save with an audit event."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, func, select
from sqlmodel.sql.expression import SelectOfScalar

from api.audit import service as audit
from api.auth.principal import Principal
from api.db import Timestamped, utcnow
from api.errors import Conflict, NotFound

M = TypeVar("M", bound=Timestamped)


def get_or_404(session: Session, model: type[M], id_: uuid.UUID, label: str) -> M:
    obj = session.get(model, id_)
    if obj is None:
        raise NotFound(f"No {label} with id {id_}")
    return obj


def page(session: Session, query: SelectOfScalar[M], *, limit: int, offset: int) -> tuple[list[M], int]:
    """One page and the total, both from the same filtered query (filters live in SQL, never after)."""
    total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    items = list(session.exec(query.limit(limit).offset(offset)).all())
    return items, int(total)


def apply(obj: M, patch: SQLModel) -> dict[str, Any]:
    """Set the fields the client sent; return the record's state before, for the audit diff."""
    before = audit.snapshot(obj)
    for key, value in patch.model_dump(exclude_unset=True).items():
        setattr(obj, key, value)
    return before


def save(
    session: Session,
    obj: M,
    *,
    actor: Principal | None,
    action: str,
    before: dict[str, Any] | None = None,
    unique_fields: tuple[str, ...] = (),
) -> M:
    """Commit the record and its audit event together; a uniqueness clash is a 409, and nothing is written."""
    if before is not None:
        obj.updated_at = utcnow()
        obj.version += 1
    session.add(obj)
    audit.record(session, actor=actor, action=action, entity=obj, before=before)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        message = str(exc.orig).lower()
        field = next((f for f in unique_fields if f in message), unique_fields[0] if unique_fields else None)
        detail = f"Another record already has this {field}" if field else "Conflicts with an existing record"
        raise Conflict(detail, extra={"field": field} if field else None) from exc
    session.refresh(obj)
    return obj
