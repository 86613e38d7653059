"""Bulk sync: the request and response shapes, and the 503 of a batch the database interrupted.

Each record is typed in the spec (the `…SyncRecord` schemas: the resource's PATCH body, with `external_id`
required), but read here only as a JSON object: the batch validates each one on its own
(api/sync/service.py), so one bad record is answered `rejected`, naming its fields, and never refuses the
whole batch.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator
from pydantic_core import PydanticCustomError

from api.common import forbid_extra
from api.compliance.models import Status
from api.consents.models import EXAMPLE_CONSENT, ConsentMerge, StillAllowed
from api.described import DescribedEnum
from api.errors import AppError, FieldError
from api.external_ids import EXTERNAL_ID_MAX, ExternalId
from api.participants.models import ParticipantUpdate
from api.problems import ProblemCode
from api.staff.models import StaffUpdate

MAX_RECORDS = 1000


class SyncMode(DescribedEnum):
    """What a pushed record does to the fields it leaves out of a record already stored.

    - replace: the record is the whole record, as `PUT …/by-external-id/{id}` takes it: a field left out
      becomes empty (or its default), and a new record needs every field a create requires. The default,
      as bulk sync always behaved.
    - merge: the record is a patch, as `PATCH …/by-external-id/{id}` takes it: only the fields sent
      change, a field left out keeps its stored value, `null` clears a field that may be empty. A record
      that does not exist yet is created only if it has every field a create requires (else `rejected`,
      naming each missing one). Consents: the fields left out are the recorded consent's (a push of
      `withdrawn_on` alone withdraws it); a consent still never changes otherwise.
    """

    # Named with an underscore: a member called `replace` would hide `str.replace` on every member.
    replace_ = "replace"
    merge = "merge"


class SyncStatus(DescribedEnum):
    """What the batch did with one record.

    - created: no record had this external id; it was created.
    - updated: the record existed and the push changed it (its version moved on).
    - unchanged: the record existed and the push held nothing new: nothing written, no new version.
    - rejected: nothing written for this record; `code`, `detail` and `errors` say why.
    """

    created = "created"
    updated = "updated"
    unchanged = "unchanged"
    rejected = "rejected"


_EXTERNAL_ID = Field(
    min_length=1,
    max_length=EXTERNAL_ID_MAX,
    description="The CRM's id for the record, which the batch matches on; once only in a batch",
)


class StaffSyncRecord(StaffUpdate):
    """One member of staff in a batch, matched on `external_id`. `mode: replace`: the whole record, as
    `PUT /staff/by-external-id/{id}` takes it (`full_name`, `email`, `employment_type` and `started_on`
    required; a field left out becomes empty). `mode: merge`: a patch, as
    `PATCH /staff/by-external-id/{id}` takes it (a field left out keeps its value; those four are needed
    only to create a record). A record that breaks either is `rejected`, naming the fields."""

    model_config = forbid_extra(
        {
            "external_id": "CRM-S0100",
            "job_title": "E-safety coordinator and programme lead",
            "esafety_training_completed_on": "2025-09-01",
        }
    )
    external_id: ExternalId = _EXTERNAL_ID


class ParticipantSyncRecord(ParticipantUpdate):
    """One participant in a batch, matched on `external_id`. `mode: replace`: the whole record, as
    `PUT /participants/by-external-id/{id}` takes it (`full_name`, `date_of_birth` and `joined_on`
    required; a field left out, a carer's phone say, becomes empty). `mode: merge`: a patch, as
    `PATCH /participants/by-external-id/{id}` takes it (a field left out keeps its value; those three are
    needed only to create a record). A record that breaks either is `rejected`, naming the fields."""

    model_config = forbid_extra({"external_id": "CRM-P0001", "carer_email": "carer.new@example.org"})
    external_id: ExternalId = _EXTERNAL_ID


class ConsentSyncRecord(ConsentMerge):
    """One consent in a batch, matched on `external_id`. `mode: replace`: the whole consent, as
    `PUT /consents/by-external-id/{id}` takes it (`kind`, `given_by`, `given_by_name`, `given_on` and the
    participant required). `mode: merge`: the fields left out are the recorded consent's. Either way a
    recorded consent only ever gains a withdrawal; any other difference is `rejected` with
    `consent_is_append_only`."""

    model_config = forbid_extra(
        {
            "external_id": "CRM-C1207",
            "withdrawn_on": "2025-11-10",
            "withdrawal_reason": "Carer asked us to stop",
        }
    )
    external_id: ExternalId = _EXTERNAL_ID


def _json_object(value: Any) -> dict[str, Any]:
    # Only the shape is checked here; the batch validates each record's fields on its own (module docstring).
    if not isinstance(value, dict):
        raise PydanticCustomError("dict_type", "Each record is a JSON object")
    return value


StaffRecord = Annotated[dict[str, Any], PlainValidator(_json_object, json_schema_input_type=StaffSyncRecord)]
ParticipantRecord = Annotated[
    dict[str, Any], PlainValidator(_json_object, json_schema_input_type=ParticipantSyncRecord)
]
ConsentRecord = Annotated[
    dict[str, Any], PlainValidator(_json_object, json_schema_input_type=ConsentSyncRecord)
]

_MODE = Field(
    default=SyncMode.replace_,
    description="What a record does to the fields it leaves out: `replace` (the default, as before this "
    "field existed) empties them, as PUT does; `merge` keeps them, as PATCH does. Send `merge` when your "
    "system pushes only the fields it knows.",
)
_RECORDS = "Up to 1,000 records, each with its `external_id`, each validated and answered on its own."


def _batch_examples(*, replace: list[dict[str, Any]], merge: list[dict[str, Any]]) -> ConfigDict:
    """A batch's config: no field but its own, and an example of each mode with its records."""
    examples: list[Any] = [{"mode": "replace", "records": replace}, {"mode": "merge", "records": merge}]
    return ConfigDict(extra="forbid", json_schema_extra={"examples": examples})


class SyncRequest(BaseModel):
    """A batch: its mode and its records (each resource's request says what a record is)."""

    model_config = ConfigDict(extra="forbid")
    mode: SyncMode = _MODE
    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_RECORDS, description=_RECORDS)


# One request model per resource, so each route documents (and Swagger UI pre-fills) its own records.
class StaffSyncRequest(SyncRequest):
    """A batch of staff records (see `StaffSyncRecord` and `SyncMode`)."""

    model_config = _batch_examples(
        replace=[
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
        ],
        merge=[
            {"external_id": "CRM-S0100", "job_title": "E-safety coordinator and programme lead"},
            {"external_id": "CRM-S0101", "esafety_training_completed_on": "2025-09-01"},
        ],
    )
    records: list[StaffRecord] = Field(min_length=1, max_length=MAX_RECORDS, description=_RECORDS)


class ParticipantSyncRequest(SyncRequest):
    """A batch of participant records (see `ParticipantSyncRecord` and `SyncMode`)."""

    model_config = _batch_examples(
        replace=[
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
        ],
        merge=[
            {"external_id": "CRM-P0001", "carer_email": "carer.new@example.org"},
            {"external_id": "CRM-P0002", "personal_phone": None},
        ],
    )
    records: list[ParticipantRecord] = Field(min_length=1, max_length=MAX_RECORDS, description=_RECORDS)


class ConsentSyncRequest(SyncRequest):
    """A batch of consent records (see `ConsentSyncRecord` and `SyncMode`)."""

    model_config = _batch_examples(
        replace=[
            {"external_id": "CRM-C1207", "participant_external_id": "CRM-P0001", **EXAMPLE_CONSENT},
            {
                "external_id": "CRM-C1208",
                "participant_external_id": "CRM-P0001",
                "kind": "esafety_agreement",
                "given_by": "parent_carer",
                "given_by_name": "Joanne Fairbrook",
                "given_on": "2025-09-06",
                "evidence_ref": "ESA-2025-0412",
            },
        ],
        merge=[
            {
                "external_id": "CRM-C1207",
                "withdrawn_on": "2025-11-10",
                "withdrawal_reason": "The carer asked us to stop using photos",
            }
        ],
    )
    records: list[ConsentRecord] = Field(min_length=1, max_length=MAX_RECORDS, description=_RECORDS)


class SyncResult(BaseModel):
    """What the batch did with one record (in the order sent)."""

    index: int = Field(description="The record's place in the batch, from 0")
    external_id: str | None = Field(description="The record's `external_id`; null if it had none (rejected)")
    status: SyncStatus = Field(description="What the batch did with the record")
    id: uuid.UUID | None = Field(default=None, description="The record's id here; null when rejected")
    version: int | None = Field(
        default=None, description="The record's version after the write (its ETag); null when rejected"
    )
    code: ProblemCode | None = Field(default=None, description="Why it was rejected (problem `code`)")
    detail: str | None = Field(default=None, description="Why it was rejected, in words")
    errors: list[FieldError] | None = Field(
        default=None,
        description="The rejected record's fields and what is wrong with each; a record that cannot be "
        "created for want of fields (`mode: merge`) names each missing one, `type` `missing`",
    )
    still_allowed_by: list[StillAllowed] | None = Field(
        default=None,
        description="Consents only: for a consent this batch withdrew (or recorded already withdrawn), the "
        "uses it covered that another consent still allows today (see ConsentPublic.still_allowed_by)",
    )


class SyncCounts(BaseModel):
    """How many records of the batch ended each way (they add up to the number of records)."""

    created: int = Field(description="Records created")
    updated: int = Field(description="Records changed")
    unchanged: int = Field(description="Records already as pushed: nothing written")
    rejected: int = Field(description="Records refused: nothing written for them")


class GroupChange(BaseModel):
    """A group whose compliance status the batch changed."""

    group_id: uuid.UUID = Field(description="The group's id")
    before: Status = Field(description="The group's compliance status today, before the batch")
    after: Status = Field(description="After the batch")


class SyncResponse(BaseModel):
    """A batch's answer: one result per record, the counts, and the groups whose status it changed."""

    mode: SyncMode = Field(description="The mode the batch ran in (`replace` when the request named none)")
    results: list[SyncResult] = Field(description="One per record, in input order")
    counts: SyncCounts = Field(description="How many records ended each way")
    groups_changed: list[GroupChange] = Field(
        default_factory=list,
        description="Groups whose compliance status changed because of this batch (empty for a key that "
        "may not read the records it pushes)",
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
