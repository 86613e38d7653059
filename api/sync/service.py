"""Bulk sync: many pushes by external id in one request, each answered on its own.

Each record goes through the same upsert as `PUT …/by-external-id/{id}` (`mode: replace`, the default) or
`PATCH …/by-external-id/{id}` (`mode: merge`) and commits on its own, so one bad record never blocks the
others, and a rejected record writes nothing. If the database fails part way, the
records before the failure stay saved: the 503 says how many, and the same batch sent again (with the same
Idempotency-Key, which a failed request releases) finds them unchanged and finishes the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from api import clock
from api.common import WriteOutcome
from api.compliance import service as compliance
from api.db import Timestamped, request_writes
from api.errors import DATABASE_ERRORS, AppError, FieldError, Unprocessable, readable_message
from api.memberships.in_force import current_on
from api.memberships.models import Membership
from api.participants.models import Participant
from api.staff.models import Staff
from api.sync.models import (
    BatchInterrupted,
    GroupChange,
    SyncCounts,
    SyncMode,
    SyncResponse,
    SyncResult,
    SyncStatus,
)

C = TypeVar("C", bound=BaseModel)


@dataclass(frozen=True)
class Push(Generic[C]):
    """How a batch reads each record (`schema`, validated on its own) and writes it (`upsert`, given the
    record's external id): the PUT's body and upsert in `replace` mode, the PATCH's in `merge` mode."""

    schema: type[C]
    upsert: Callable[[str, C], tuple[Timestamped, WriteOutcome]]


@dataclass(frozen=True)
class People:
    """Whom a batch is about, as selects of ids: the groups they are in are those it may change."""

    staff: SelectOfScalar[uuid.UUID] | None = None
    participants: SelectOfScalar[uuid.UUID] | None = None


def _strings(records: list[dict[str, Any]], key: str) -> list[str]:
    return [r[key] for r in records if isinstance(r.get(key), str) and r[key]]


def staff_in(records: list[dict[str, Any]]) -> People:
    """The staff a staff batch names (by the CRM's id; a new record is in no group yet)."""
    return People(
        staff=select(col(Staff.id)).where(col(Staff.external_id).in_(_strings(records, "external_id")))
    )


def participants_in(records: list[dict[str, Any]]) -> People:
    """The participants a participant batch names."""
    ids = _strings(records, "external_id")
    return People(participants=select(col(Participant.id)).where(col(Participant.external_id).in_(ids)))


def consent_participants_in(records: list[dict[str, Any]]) -> People:
    """The participants a consent batch names, by either of their ids."""
    ids: list[uuid.UUID] = []
    for value in _strings(records, "participant_id"):
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue  # the record itself is rejected; it names no one
    external = _strings(records, "participant_external_id")
    return People(
        participants=select(col(Participant.id)).where(
            or_(col(Participant.id).in_(ids), col(Participant.external_id).in_(external))
        )
    )


def _groups_of(session: Session, people: People, on: date) -> list[uuid.UUID]:
    """The groups these people are in on `on`, in one query."""
    whose: list[ColumnElement[bool]] = []
    if people.staff is not None:
        whose.append(col(Membership.staff_id).in_(people.staff))
    if people.participants is not None:
        whose.append(col(Membership.participant_id).in_(people.participants))
    if not whose:
        return []
    return list(session.exec(select(Membership.group_id).where(current_on(on), or_(*whose)).distinct()).all())


def sync(
    *,
    session: Session,
    records: list[dict[str, Any]],
    push: Push[Any],
    people: People,
    mode: SyncMode = SyncMode.replace_,
    reports_groups: bool = True,
) -> SyncResponse:
    """Run a batch, and list the groups whose compliance status it changed: those the batch's people are
    in, evaluated before and after (each evaluation a fixed number of queries, however many groups).

    `reports_groups` False (a caller who may not read the batch's records): no `groups_changed`, since
    which groups changed tells which groups those people are in."""
    if not reports_groups:
        return respond(run(session=session, records=records, push=push), mode=mode)
    today = clock.today()
    group_ids = _groups_of(session, people, today)
    before = compliance.group_statuses(session=session, group_ids=group_ids, as_of=today)
    results = run(session=session, records=records, push=push)
    try:
        after = compliance.group_statuses(session=session, group_ids=group_ids, as_of=today)
    except DATABASE_ERRORS as exc:
        raise BatchInterrupted(results, None, False) from exc
    changed = [
        GroupChange(group_id=group_id, before=status, after=after[group_id])
        for group_id, status in sorted(before.items(), key=lambda item: str(item[0]))
        if group_id in after and after[group_id] is not status
    ]
    return respond(results, changed, mode=mode)


def run(
    *,
    session: Session,
    records: list[dict[str, Any]],
    push: Push[Any],
) -> list[SyncResult]:
    """Validate and upsert each record in turn; collect one result per record, in input order."""
    results: list[SyncResult] = []
    seen: set[str] = set()
    for index, raw in enumerate(records):
        external_id = raw.get("external_id") if isinstance(raw.get("external_id"), str) else None
        if not external_id:
            results.append(_rejected(index, None, "external_id", "every synced record needs its external_id"))
            continue
        if external_id in seen:
            results.append(_rejected(index, external_id, "external_id", "appears earlier in this batch"))
            continue
        seen.add(external_id)
        try:
            data = push.schema.model_validate(raw)
        except ValidationError as exc:
            errors = [
                FieldError(
                    field=".".join(str(p) for p in e["loc"]) or "record",
                    message=readable_message(e),
                    type=e["type"],
                )
                for e in exc.errors()
            ]
            invalid = "Invalid fields: " + ", ".join(sorted({e.field for e in errors}))
            results.append(_refused(index, external_id, Unprocessable(invalid, errors=errors)))
            continue
        writes = request_writes.get()
        committed = writes.committed if writes is not None else 0
        try:
            obj, outcome = push.upsert(external_id, data)
        except DATABASE_ERRORS as exc:
            saved = writes is not None and writes.committed > committed
            # A failed COMMIT may still have saved the record: never report that as "not saved".
            in_doubt = writes is not None and writes.in_doubt
            raise BatchInterrupted(results, index, saved, in_doubt=in_doubt) from exc
        except AppError as exc:
            session.rollback()
            results.append(_refused(index, external_id, exc))
            continue
        results.append(
            SyncResult(
                index=index,
                external_id=external_id,
                status=SyncStatus(outcome),
                id=obj.id,
                version=obj.version,
            )
        )
    return results


def _rejected(index: int, external_id: str | None, field: str, message: str) -> SyncResult:
    """The record refused for one bad `field` before it was read as its type (422 `validation_error`)."""
    error = FieldError(field=field, message=message, type="value_error")
    return _refused(index, external_id, Unprocessable(f"{field}: {message}", errors=[error]))


def _refused(index: int, external_id: str | None, error: AppError) -> SyncResult:
    """The result of the record at `index` refused with `error`: its code, detail and field errors, as the
    single-record route would have answered them."""
    return SyncResult(
        index=index,
        external_id=external_id,
        status=SyncStatus.rejected,
        code=error.code,
        detail=error.detail,
        errors=error.errors,
    )


def respond(
    results: list[SyncResult],
    groups_changed: list[GroupChange] | None = None,
    *,
    mode: SyncMode = SyncMode.replace_,
) -> SyncResponse:
    counts = dict.fromkeys(SyncStatus, 0)
    for r in results:
        counts[r.status] += 1
    return SyncResponse(
        mode=mode,
        results=results,
        counts=SyncCounts(**{status.value: n for status, n in counts.items()}),
        groups_changed=groups_changed or [],
    )
