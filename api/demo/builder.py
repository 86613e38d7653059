"""The demo's record builder: invented records with repeatable ids and values, kept until they are flushed."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, SQLModel

from api import clock
from api.consents.logic import age_on
from api.consents.models import Consent, ConsentKind, GivenBy, Purpose
from api.demo.names import (
    CARER_FIRST_NAMES,
    DOMAIN,
    FIRST_NAMES,
    LAST_NAMES,
    SELF_CONSENT_AGE,
)
from api.groups.models import (
    Group,
    GroupReview,
    JoinApproval,
    Platform,
    RiskAssessment,
    Visibility,
    seen_by_all_default,
)
from api.incidents.models import (
    Category,
    Incident,
    IncidentOutcome,
    IncidentParticipant,
    IncidentStaff,
    IncidentStatus,
    Severity,
)
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from api.staff.models import EmploymentType, Staff


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


@dataclass
class Builder:
    session: Session
    today: date
    rng: random.Random
    rows: list[SQLModel] = field(default_factory=list)

    def id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def ago(self, days: int) -> date:
        return self.today - timedelta(days=days)

    def at(self, days_ago: int, hour: int = 18) -> datetime:
        # The organisation's wall clock, so an evening incident falls on the day the demo means.
        local = datetime.combine(self.ago(days_ago), time(hour, 30), tzinfo=clock.organisation_zone())
        return local.astimezone(UTC)

    def recorded(self, day: date) -> dict[str, Any]:
        """The timestamps of a record entered on `day`, mid-afternoon (never after now): an evaluation as of
        a past day counts only what was recorded by then, so the demo's records are entered on their day."""
        at = min(clock.now(), clock.start_of(day) + timedelta(hours=15))
        return {"created_at": at, "updated_at": at}

    def add(self, row: SQLModel) -> None:
        self.rows.append(row)

    def staff(
        self,
        name: str,
        employment: EmploymentType,
        title: str,
        *,
        started: int,
        email: str | None = None,
        left: int | None = None,
        coordinator: bool = False,
        social: bool = True,
        signed: bool = True,
        trained: int | None = None,
    ) -> Staff:
        first, last = name.lower().split(" ", 1)
        row = Staff(
            id=self.id(),
            full_name=name,
            email=email or f"{first}.{last}@{DOMAIN}",
            employment_type=employment,
            job_title=title,
            started_on=self.ago(started),
            left_on=self.ago(left) if left is not None else None,
            is_esafety_coordinator=coordinator,
            uses_social_media_for_work=social,
            code_of_conduct_signed_on=self.ago(started - 3) if signed else None,
            esafety_training_completed_on=self.ago(trained) if trained is not None else None,
            external_id=f"CRM-S{len(self.rows) + 100:04d}",
        )
        self.add(row)
        return row

    def participant(
        self, n: int, age: int, *, left: int | None = None, vulnerable: bool = False
    ) -> Participant:
        first = FIRST_NAMES[n % len(FIRST_NAMES)]
        last = self.rng.choice(LAST_NAMES)
        # A birthday well away from today, so ages hold for weeks after the demo is loaded.
        dob = _years_before(self.today, age) - timedelta(days=self.rng.randint(30, 330))
        has_carer = age < SELF_CONSENT_AGE or vulnerable
        carer = f"{self.rng.choice(CARER_FIRST_NAMES)} {last}" if has_carer else None
        row = Participant(
            id=self.id(),
            full_name=f"{first} {last}",
            date_of_birth=dob,
            is_vulnerable_adult=vulnerable,
            carer_name=carer,
            carer_email=f"{carer.split()[0].lower()}.{last.lower()}@example.org" if carer else None,
            carer_phone=f"+447700900{self.rng.randint(0, 999):03d}" if carer else None,  # stored in E.164
            # Joined at least 400 days ago, but not before their 11th birthday.
            joined_on=max(_years_before(dob, -11), self.ago(self.rng.randint(400, 1500))),
            left_on=self.ago(left) if left is not None else None,
            external_id=f"CRM-P{n + 1:04d}",
        )
        self.add(row)
        return row

    def group(
        self,
        name: str,
        platform: Platform,
        *,
        started: int,
        visibility: Visibility = Visibility.closed,
        approval: JoinApproval = JoinApproval.admins_only,
        ages: tuple[int, int],
        images: bool,
    ) -> Group:
        slug = name.lower().replace(" ", "-")
        row = Group(
            id=self.id(),
            name=name,
            platform=platform,
            project=name,
            url=f"https://{platform.value.replace('_', '')}.example/{slug}",
            visibility=visibility,
            join_approval=approval,
            min_age=ages[0],
            max_age=ages[1],
            shares_images=images,
            messages_seen_by_all=seen_by_all_default(platform),
            started_on=self.ago(started),
        )
        self.add(row)
        return row

    def member(
        self,
        group: Group,
        who: Staff | Participant,
        *,
        admin: bool = False,
        ended: int | None = None,
        reason: str | None = None,
    ) -> Membership:
        since = who.started_on if isinstance(who, Staff) else who.joined_on
        row = Membership(
            id=self.id(),
            group_id=group.id,
            staff_id=who.id if isinstance(who, Staff) else None,
            participant_id=who.id if isinstance(who, Participant) else None,
            role=MemberRole.admin if admin else MemberRole.member,
            started_on=max(group.started_on, since),
            ended_on=self.ago(ended) if ended is not None else None,
            end_reason=reason,
        )
        self.add(row)
        return row

    def consent(
        self,
        p: Participant,
        kind: ConsentKind,
        *,
        given: int,
        purposes: tuple[Purpose, ...] = (),
        valid_days: int | None = None,
        withdrawn: int | None = None,
        self_given: bool | None = None,
    ) -> Consent:
        given_on = self.ago(given)
        by_self = age_on(p.date_of_birth, given_on) >= SELF_CONSENT_AGE if self_given is None else self_given
        row = Consent(
            id=self.id(),
            participant_id=p.id,
            kind=kind,
            purposes=list(purposes),
            given_by=GivenBy.participant if by_self else GivenBy.parent_carer,
            given_by_name=p.full_name if by_self or p.carer_name is None else p.carer_name,
            given_on=given_on,
            expires_on=given_on + timedelta(days=valid_days) if valid_days else None,
            withdrawn_on=self.ago(withdrawn) if withdrawn is not None else None,
            withdrawal_reason="Withdrawn by email to the coordinator" if withdrawn is not None else None,
            evidence_ref=f"{kind.value[:3].upper()}-{given_on.year}-{len(self.rows):04d}",
            **self.recorded(given_on),
        )
        self.add(row)
        return row

    def agreement(
        self, p: Participant, *, given: int | None = None, self_given: bool | None = None
    ) -> Consent:
        """The annual e-safety agreement, signed at the start of the season."""
        days = given if given is not None else self.rng.randint(20, 250)
        return self.consent(
            p, ConsentKind.esafety_agreement, given=days, valid_days=365, self_given=self_given
        )

    def images(
        self, p: Participant, *purposes: Purpose, given: int | None = None, withdrawn: int | None = None
    ) -> Consent:
        """Image-use consent for two years; by default for every purpose the charity uses photos for."""
        chosen = purposes or (Purpose.promotional_material, Purpose.website, Purpose.social_media)
        days = given if given is not None else self.rng.randint(20, 250)
        return self.consent(
            p, ConsentKind.image_use, given=days, purposes=chosen, valid_days=730, withdrawn=withdrawn
        )

    def review(self, group: Group, by: Staff, days_ago: int, notes: str) -> None:
        self.add(
            GroupReview(
                id=self.id(),
                group_id=group.id,
                reviewed_on=self.ago(days_ago),
                reviewed_by_id=by.id,
                notes=notes,
                **self.recorded(self.ago(days_ago)),
            )
        )

    def assess(self, group: Group, by: Staff, days_ago: int, *, privacy: bool = True) -> None:
        self.add(
            RiskAssessment(
                id=self.id(),
                group_id=group.id,
                assessed_on=self.ago(days_ago),
                assessed_by_id=by.id,
                risks=f"Contact between staff and young people on {group.platform.value}; images shared "
                "without consent; strangers joining; bullying in comments.",
                mitigations="Closed group, admins approve members, two staff admins, coordinator included, "
                "consents checked before any image is posted, monthly check of the member list.",
                privacy_features_checked=privacy,
                **self.recorded(self.ago(days_ago)),
            )
        )

    def incident(
        self,
        category: Category,
        severity: Severity,
        status: IncidentStatus,
        *,
        days_ago: int,
        by: Staff,
        summary: str,
        details: str,
        group: Group | None = None,
        participants: tuple[Participant, ...] = (),
        staff: tuple[Staff, ...] = (),
        outcome: IncidentOutcome | None = None,
        closed: int | None = None,
    ) -> Incident:
        row = Incident(
            id=self.id(),
            category=category,
            severity=severity,
            status=status,
            occurred_at=self.at(days_ago),
            group_id=group.id if group else None,
            summary=summary,
            details=details,
            reported_by_id=by.id,
            outcome=outcome,
            outcome_summary="Closed after review by the e-safety coordinator." if outcome else None,
            closed_at=self.at(closed, hour=10) if closed is not None else None,
        )
        self.add(row)
        self.add_links(row, participants, staff)
        return row

    def add_links(
        self, incident: Incident, participants: tuple[Participant, ...], staff: tuple[Staff, ...]
    ) -> None:
        for p in participants:
            self.add(IncidentParticipant(incident_id=incident.id, participant_id=p.id))
        for s in staff:
            self.add(IncidentStaff(incident_id=incident.id, staff_id=s.id))


@dataclass(frozen=True)
class Cast:
    """The records the later additions (api/demo/later.py) hang off."""

    nadia: Staff
    tom: Staff
    priya: Staff
    callum: Staff
    grace: Staff
    owen: Staff
    people: list[Participant]
    beatlab: Group
    producers: Group
