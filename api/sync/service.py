"""Bulk sync: many create-or-replace pushes in one request, each answered on its own.

Each record goes through the same upsert as `PUT …/by-external-id/{id}` and commits on its own, so one bad
record never blocks the others, and a rejected record writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session

from api.crud import Upserted

__all__ = ["Upserted"]
from api.db import Timestamped
from api.errors import AppError, FieldError

MAX_RECORDS = 1000

C = TypeVar("C", bound=BaseModel)


class SyncStatus(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"
    rejected = "rejected"


class SyncRequest(BaseModel):
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
    records: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_RECORDS,
        description="Full records, each with its `external_id` (the CRM's id). Each is validated on its own.",
    )


class SyncResult(BaseModel):
    index: int
    external_id: str | None
    status: SyncStatus
    id: uuid.UUID | None = None
    code: str | None = Field(default=None, description="Why it was rejected (problem `code`)")
    detail: str | None = None
    errors: list[FieldError] | None = None


class GroupChange(BaseModel):
    group_id: uuid.UUID
    before: str
    after: str


class SyncResponse(BaseModel):
    results: list[SyncResult] = Field(description="One per record, in input order")
    counts: dict[Literal["created", "updated", "unchanged", "rejected"], int]
    groups_changed: list[GroupChange] = Field(
        default_factory=list, description="Groups whose compliance status changed because of this batch"
    )


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
        try:
            obj, outcome = upsert(external_id, data)
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
            SyncResult(index=index, external_id=external_id, status=SyncStatus(outcome), id=obj.id)
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
