"""Bulk sync: many create-or-replace pushes in one request, each answered on its own.

Each record goes through the same upsert as `PUT …/by-external-id/{id}` and commits on its own, so one bad
record never blocks the others, and a rejected record writes nothing. If the database fails part way, the
records before the failure stay saved: the 503 says how many, and the same batch sent again (with the same
Idempotency-Key, which a failed request releases) finds them unchanged and finishes the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from api import clock
from api.compliance import service as compliance
from api.compliance.engine import Status
from api.consents.models import StillAllowed
from api.crud import Upserted
from api.db import Timestamped, request_writes
from api.errors import DATABASE_ERRORS, AppError, FieldError
from api.memberships.models import Membership
from api.memberships.scope import current_on
from api.participants.models import Participant
from api.staff.models import Staff

__all__ = ["Upserted"]

MAX_RECORDS = 1000

C = TypeVar("C", bound=BaseModel)


class SyncStatus(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"
    rejected = "rejected"


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_RECORDS,
        description="Full records, each with its `external_id` (the CRM's id). Each is validated on its own.",
    )


# One request model per resource, so each route documents (and Swagger UI pre-fills) its own records.
class StaffSyncRequest(SyncRequest):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {
                            "external_id": "CRM-S0217",
                            "full_name": "Leah Marchant",
                            "email": "leah.marchant@riverbankmusic.org.uk",
                            "employment_type": "sessional",
                            "job_title": "Music leader (strings)",
                            "started_on": "2025-09-01",
                            "uses_social_media_for_work": True,
                            "code_of_conduct_signed_on": "2025-09-01",
                        },
                        {
                            "external_id": "CRM-S0142",
                            "full_name": "Idris Calloway",
                            "email": "idris.calloway@riverbankmusic.org.uk",
                            "employment_type": "volunteer",
                            "job_title": "Volunteer mentor",
                            "started_on": "2023-01-16",
                            "left_on": "2025-10-31",
                        },
                    ]
                }
            ]
        },
    )


class ParticipantSyncRequest(SyncRequest):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {
                            "external_id": "CRM-P0412",
                            "full_name": "Maya Fairbrook",
                            "date_of_birth": "2011-03-14",
                            "carer_name": "Joanne Fairbrook",
                            "carer_email": "joanne.fairbrook@example.org",
                            "carer_phone": "07700 900412",
                            "joined_on": "2023-09-04",
                        },
                        {
                            "external_id": "CRM-P0388",
                            "full_name": "Theo Anand",
                            "date_of_birth": "2007-11-02",
                            "joined_on": "2021-01-11",
                            "left_on": "2025-07-31",
                        },
                    ]
                }
            ]
        },
    )


class ConsentSyncRequest(SyncRequest):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {
                            "external_id": "CRM-C1207",
                            "participant_id": "1e7a9c3b-6d2f-4a8e-b5c1-8f3d0e7a2b56",
                            "kind": "image_use",
                            "purposes": ["website", "social_media"],
                            "given_by": "parent_carer",
                            "given_by_name": "Joanne Fairbrook",
                            "given_on": "2025-09-06",
                            "expires_on": "2027-09-06",
                            "evidence_ref": "IMG-2025-0412",
                        },
                        {
                            "external_id": "CRM-C1208",
                            "participant_id": "1e7a9c3b-6d2f-4a8e-b5c1-8f3d0e7a2b56",
                            "kind": "esafety_agreement",
                            "given_by": "parent_carer",
                            "given_by_name": "Joanne Fairbrook",
                            "given_on": "2025-09-06",
                            "evidence_ref": "ESA-2025-0412",
                        },
                    ]
                }
            ]
        },
    )


class SyncResult(BaseModel):
    index: int
    external_id: str | None
    status: SyncStatus
    id: uuid.UUID | None = None
    version: int | None = Field(default=None, description="The record's version after the write")
    code: str | None = Field(default=None, description="Why it was rejected (problem `code`)")
    detail: str | None = None
    errors: list[FieldError] | None = None
    still_allowed_by: list[StillAllowed] | None = Field(
        default=None,
        description="Consents only: for a consent this batch withdrew (or recorded already withdrawn), the "
        "uses it covered that another consent still allows today (see ConsentPublic.still_allowed_by)",
    )


class GroupChange(BaseModel):
    group_id: uuid.UUID
    before: Status = Field(description="The group's compliance status today, before the batch")
    after: Status = Field(description="After the batch")


class SyncResponse(BaseModel):
    results: list[SyncResult] = Field(description="One per record, in input order")
    counts: dict[Literal["created", "updated", "unchanged", "rejected"], int]
    groups_changed: list[GroupChange] = Field(
        default_factory=list, description="Groups whose compliance status changed because of this batch"
    )


class BatchInterrupted(AppError):
    """The database failed part way through a batch: what was saved before it, truthfully."""

    status_code, code, title = 503, "sync_interrupted", "Service unavailable"

    def __init__(
        self,
        results: list[SyncResult],
        failed_at: int | None,
        failed_record_saved: bool,
        *,
        in_doubt: bool = False,
    ) -> None:
        saved = sum(r.status in (SyncStatus.created, SyncStatus.updated) for r in results)
        if failed_at is None:
            where = f"after all {len(results)} records were handled ({saved} created or updated, all saved)"
        else:
            fate = (
                "was saved"
                if failed_record_saved
                else "may or may not have been saved (the database failed while saving it)"
                if in_doubt
                else "was not saved"
            )
            where = (
                f"at record {failed_at}: the {saved} records before it that were created or updated are "
                f"saved, record {failed_at} {fate}, and none after it was attempted"
            )
        super().__init__(
            f"The database failed {where}. Send the same batch again (with the same Idempotency-Key): "
            "saved records come back unchanged and the rest are done.",
            headers={"Retry-After": "1"},
            extra={
                "records_saved": saved + (1 if failed_record_saved else 0),
                "failed_at": failed_at,
                "failed_record_in_doubt": in_doubt and not failed_record_saved,
                "results": [r.model_dump(mode="json", exclude_none=True) for r in results],
            },
        )


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
    schema: type[C],
    upsert: Callable[[str, C], tuple[Timestamped, Upserted]],
    people: People,
    reports_groups: bool = True,
) -> SyncResponse:
    """Run a batch, and list the groups whose compliance status it changed: those the batch's people are
    in, evaluated before and after (each evaluation a fixed number of queries, however many groups).

    `reports_groups` False (a caller who may not read the batch's records): no `groups_changed`, since
    which groups changed tells which groups those people are in."""
    if not reports_groups:
        return respond(run(session=session, records=records, schema=schema, upsert=upsert))
    today = clock.today()
    group_ids = _groups_of(session, people, today)
    before = compliance.group_statuses(session=session, group_ids=group_ids, as_of=today)
    results = run(session=session, records=records, schema=schema, upsert=upsert)
    try:
        after = compliance.group_statuses(session=session, group_ids=group_ids, as_of=today)
    except DATABASE_ERRORS as exc:
        raise BatchInterrupted(results, None, False) from exc
    changed = [
        GroupChange(group_id=group_id, before=status, after=after[group_id])
        for group_id, status in sorted(before.items(), key=lambda item: str(item[0]))
        if group_id in after and after[group_id] is not status
    ]
    return respond(results, changed)


def run(
    *,
    session: Session,
    records: list[dict[str, Any]],
    schema: type[C],
    upsert: Callable[[str, C], tuple[Timestamped, Upserted]],
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
            data = schema.model_validate(raw)
        except ValidationError as exc:
            errors = [
                FieldError(
                    field=".".join(str(p) for p in e["loc"]) or "record", message=e["msg"], type=e["type"]
                )
                for e in exc.errors()
            ]
            results.append(
                SyncResult(
                    index=index,
                    external_id=external_id,
                    status=SyncStatus.rejected,
                    code="validation_error",
                    detail="Invalid fields: " + ", ".join(sorted({e.field for e in errors})),
                    errors=errors,
                )
            )
            continue
        writes = request_writes.get()
        committed = writes.committed if writes is not None else 0
        try:
            obj, outcome = upsert(external_id, data)
        except DATABASE_ERRORS as exc:
            saved = writes is not None and writes.committed > committed
            # A failed COMMIT may still have saved the record: never report that as "not saved".
            in_doubt = writes is not None and writes.in_doubt
            raise BatchInterrupted(results, index, saved, in_doubt=in_doubt) from exc
        except AppError as exc:
            session.rollback()
            results.append(
                SyncResult(
                    index=index,
                    external_id=external_id,
                    status=SyncStatus.rejected,
                    code=exc.code,
                    detail=exc.detail,
                    errors=exc.errors,
                )
            )
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
    return SyncResult(
        index=index,
        external_id=external_id,
        status=SyncStatus.rejected,
        code="validation_error",
        detail=f"{field}: {message}",
        errors=[FieldError(field=field, message=message, type="value_error")],
    )


def respond(results: list[SyncResult], groups_changed: list[GroupChange] | None = None) -> SyncResponse:
    counts: dict[Literal["created", "updated", "unchanged", "rejected"], int] = {
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    for r in results:
        counts[r.status.value] += 1
    return SyncResponse(results=results, counts=counts, groups_changed=groups_changed or [])
