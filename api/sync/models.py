"""Bulk sync: the request and response shapes, and the 503 of a batch the database interrupted."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.compliance.models import Status
from api.consents.models import StillAllowed
from api.errors import AppError, FieldError
from api.problems import ProblemCode

MAX_RECORDS = 1000


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
    code: ProblemCode | None = Field(default=None, description="Why it was rejected (problem `code`)")
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

    code = ProblemCode.sync_interrupted
    status_code = code.status

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
