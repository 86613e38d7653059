"""Hand-built snapshots: a compliant group by default, changed one fact at a time with `replace`."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from api.compliance.snapshot import (
    DeclarationFacts,
    GroupFacts,
    GroupSnapshot,
    IncidentFacts,
    MemberFacts,
    ParticipantFacts,
    ReviewFacts,
    RiskAssessmentFacts,
    StaffFacts,
    StaffSnapshot,
    Thresholds,
)
from api.consents.logic import ConsentFact
from tests.kit.declarations import EVERY_STATEMENT_HELD

AS_OF = date(2026, 6, 15)
STARTED = AS_OF - timedelta(days=200)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def declaration(**kw: Any) -> DeclarationFacts:
    """A declaration for version 1, every statement true, a month before AS_OF."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "declared_on": AS_OF - days(30),
        "policy_version": 1,
        **EVERY_STATEMENT_HELD,
    }
    values.update(kw)
    return DeclarationFacts(**values)


def staff(**kw: Any) -> StaffFacts:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "full_name": "Sam Staff",
        "email": "sam@moremusic.org.uk",
        "started_on": AS_OF - days(1000),
        "uses_social_media_for_work": True,
        "code_of_conduct_signed_on": AS_OF - days(500),
        "esafety_training_completed_on": AS_OF - days(100),
        "has_active_account": True,
        "declarations": (declaration(),),
    }
    # `declaration=` for the common case of one (None: never declared).
    if "declaration" in kw:
        one = kw.pop("declaration")
        values["declarations"] = () if one is None else (one,)
    values.update(kw)
    return StaffFacts(**values)


def consent(kind: str, **kw: Any) -> ConsentFact:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "kind": kind,
        "purposes": frozenset({"social_media", "website"}) if kind == "image_use" else frozenset(),
        "given_by": "parent_carer",
        "given_on": AS_OF - days(300),
        "expires_on": None,
        "withdrawn_on": None,
    }
    values.update(kw)
    return ConsentFact(**values)


def participant(**kw: Any) -> ParticipantFacts:
    values: dict[str, Any] = {
        "raw_id": uuid.uuid4(),
        "full_name": "Young Person",
        "date_of_birth": date(2011, 3, 1),
        "joined_on": AS_OF - days(400),
        "consents": (
            consent("esafety_agreement"),
            consent("image_use"),
            consent("code_of_conduct", given_by="participant"),
        ),
    }
    values.update(kw)
    return ParticipantFacts(**values)


def member(person: StaffFacts | ParticipantFacts, role: str = "member", **kw: Any) -> MemberFacts:
    values: dict[str, Any] = {"role": role, "started_on": STARTED}
    if isinstance(person, StaffFacts):
        values["staff"] = person
    else:
        values["participant"] = person
    values.update(kw)
    return MemberFacts(**values)


COORDINATOR = staff(full_name="Cora Coordinator", is_esafety_coordinator=True)
ADMIN_B = staff(full_name="Ben Admin")


def group_snapshot(**kw: Any) -> GroupSnapshot:
    """A group that passes every rule."""
    group = GroupFacts(
        id=uuid.uuid4(),
        name="Youth Band",
        platform="facebook_group",
        visibility="closed",
        join_approval="admins_only",
        started_on=STARTED,
        min_age=11,
        max_age=18,
        shares_images=True,
    )
    values: dict[str, Any] = {
        "as_of": AS_OF,
        "thresholds": Thresholds(),
        "group": group,
        "members": (member(COORDINATOR, "admin"), member(ADMIN_B, "admin"), member(participant())),
        "reviews": (ReviewFacts(uuid.uuid4(), AS_OF - days(30), COORDINATOR.id),),
        "risk_assessments": (RiskAssessmentFacts(uuid.uuid4(), STARTED - days(5), COORDINATOR, True, True),),
        "incidents": (),
    }
    values.update(kw)
    return GroupSnapshot(**values)


def with_group(snapshot: GroupSnapshot, **kw: Any) -> GroupSnapshot:
    return replace(snapshot, group=replace(snapshot.group, **kw))


def incident(**kw: Any) -> IncidentFacts:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "severity": "high",
        "category": "cyberbullying",
        "status": "investigating",
        "reported_on": AS_OF - days(3),
    }
    values.update(kw)
    return IncidentFacts(**values)


def staff_snapshot(person: StaffFacts | None = None, **kw: Any) -> StaffSnapshot:
    values: dict[str, Any] = {"as_of": AS_OF, "thresholds": Thresholds(), "staff": person or staff()}
    values.update(kw)
    return StaffSnapshot(**values)
