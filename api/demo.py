"""The demo organisation: Riverbank Music, a fictional youth music charity, so a newcomer sees real results.

Everything is invented (names, addresses, phone numbers from the ranges set aside for fiction) and dated
relative to the day it is loaded, so the picture stays meaningful: one group in good order, one at risk (only
a warning: an admin's e-safety training has lapsed) and four that break the policy in different ways. A fixed
random seed makes every load the same, ids included.

Written directly with the models, in one transaction, with one audit event saying the demo was loaded.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, SQLModel, col, select

from api import clock
from api.audit import service as audit
from api.auth.models import User
from api.auth.passwords import hash_password, verify_password
from api.auth.roles import Role
from api.common import in_force
from api.compliance import forecast
from api.consents.logic import age_on
from api.consents.models import Consent, ConsentKind, GivenBy, Purpose
from api.controls.models import (
    CheckResult,
    Control,
    ControlCheck,
    Decision,
    Technology,
    TechnologyAssessment,
    name_key,
)
from api.declarations.models import StaffDeclaration
from api.groups.models import (
    Group,
    GroupReview,
    JoinApproval,
    Platform,
    RiskAssessment,
    Visibility,
    seen_by_all_default,
)
from api.identities.models import PlatformIdentity
from api.identities.normalise import IdentityKind
from api.incidents.models import (
    Category,
    Incident,
    IncidentParticipant,
    IncidentStaff,
    IncidentStatus,
    Outcome,
    Severity,
)
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from api.policy.models import PolicySettings
from api.policy.versions import PolicyVersion
from api.rosters.models import GroupRoster, Match, MatchedBy, PlatformRole, RosterEntry
from api.staff.models import EmploymentType, Staff

ORG = "Riverbank Music"
DOMAIN = "riverbankmusic.org.uk"
SEED = 20_240_917
SELF_CONSENT_AGE = 18

# Printed by `esafety seed-demo`; demo sign-ins only, never for a real deployment.
DEMO_ACCOUNTS: tuple[tuple[Role, str, str], ...] = (
    (Role.coordinator, f"nadia.okafor@{DOMAIN}", "riverbank-coordinator-demo"),
    (Role.staff, f"tom.hallett@{DOMAIN}", "riverbank-staff-demo"),
    (Role.trustee, f"owen.baptiste@{DOMAIN}", "riverbank-trustee-demo"),
)

FIRST_NAMES = (
    "Aaliyah",
    "Ben",
    "Caitlin",
    "Dev",
    "Elif",
    "Finn",
    "Gabriela",
    "Harvey",
    "Imogen",
    "Jayden",
    "Kiera",
    "Lewis",
    "Maisie",
    "Nico",
    "Orla",
    "Praveen",
    "Quinn",
    "Rosa",
    "Sami",
    "Tia",
    "Umar",
    "Violet",
    "Wiktor",
    "Xanthe",
    "Yusuf",
    "Zara",
    "Alfie",
    "Bethan",
    "Cormac",
    "Daisy",
    "Ezra",
    "Freya",
    "Kofi",
    "Lena",
    "Mateo",
    "Niamh",
    "Ollie",
    "Poppy",
    "Reuben",
    "Sienna",
)
LAST_NAMES = (
    "Ashworth",
    "Bexley",
    "Carrow",
    "Dunmore",
    "Ellison",
    "Fairbrook",
    "Garside",
    "Holloway",
    "Ivel",
    "Jessop",
    "Kettering",
    "Lowther",
    "Marlow",
    "Newbold",
    "Ormerod",
    "Pennick",
    "Quarrie",
    "Rudd",
    "Stainton",
    "Thwaite",
    "Upfield",
    "Varley",
    "Wragg",
    "Yeadon",
)
CARER_FIRST_NAMES = (
    "Alison",
    "Darren",
    "Fatima",
    "Gareth",
    "Helen",
    "Joanne",
    "Marcus",
    "Nkechi",
    "Paul",
    "Sunita",
)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


@dataclass
class _Builder:
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
        outcome: Outcome | None = None,
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


def seed(session: Session, today: date | None = None) -> list[tuple[str, str, str]]:
    """Load the demo organisation; returns the demo sign-ins as (role, email, password)."""
    coordinator_email = DEMO_ACCOUNTS[0][1]
    if session.exec(select(Staff.id).where(Staff.email == coordinator_email)).first() is not None:
        raise ValueError(f"The {ORG} demo is already loaded in this database")
    b = _Builder(session=session, today=today or clock.today(), rng=random.Random(SEED))  # noqa: S311 - repeatable demo data, not secrets
    E = EmploymentType  # noqa: N806

    # Staff: one coordinator, current and trained leaders, a volunteer who left, and a few gaps to find.
    nadia = b.staff(
        "Nadia Okafor", E.senior_manager, "E-safety coordinator", started=2200, coordinator=True, trained=60
    )
    tom = b.staff("Tom Hallett", E.employee, "Music leader", started=1500, trained=120)
    # Her e-safety training has lapsed: the only gap in Studio Sessions, which is at risk rather than failing.
    priya = b.staff("Priya Raman", E.sessional, "Music leader (production)", started=800, trained=400)
    callum = b.staff("Callum Reid", E.employee, "Youth worker", started=1100, trained=30)
    grace = b.staff("Grace Lindqvist", E.volunteer, "Volunteer mentor", started=700, left=45, trained=400)
    megan = b.staff("Megan Doyle", E.student, "Placement student", started=90, signed=False)
    # An agency worker on a personal address: the policy allows only official accounts for contact.
    jamie = b.staff(
        "Jamie Kerr",
        E.agency,
        "Sound engineer",
        started=400,
        email="jamie.kerr.sound@mailbox.example",
        trained=500,
    )
    owen = b.staff(
        "Owen Baptiste", E.trustee, "Trustee (safeguarding)", started=1800, social=False, trained=300
    )

    # Participants 0..39: ages chosen per group below, so the age rules have something to find.
    ages = [13, 13, 14, 14, 15, 15, 16, 16, 17, 18,  # 0-9 Youth Band
            15, 17, 18, 19, 20, 21, 22,  # 10-16 Studio Sessions
            11, 12, 13, 14, 15, 16, 17,  # 17-23 Summer Showcase
            14, 15, 16, 17, 19, 20, 19,  # 24-30 Beat Lab (30 has left the organisation)
            16, 17, 18, 19, 25,  # 31-35 Young Producers (35 is 25, the group's limit is 19)
            11, 12, 13, 15]  # 36-39 Girls Make Music  # fmt: skip
    people = [
        b.participant(n, age, left=90 if n == 30 else None, vulnerable=n == 29) for n, age in enumerate(ages)
    ]

    # In good order (the Youth Band; Studio Sessions too but for Priya's lapsed training): closed, admins
    # approve, two staff admins, the coordinator, reviewed and risk-assessed recently, every consent in place.
    band = b.group("Youth Band", Platform.facebook_group, started=730, ages=(13, 19), images=True)
    studio = b.group(
        "Studio Sessions",
        Platform.email_list,
        started=365,
        visibility=Visibility.secret,
        ages=(14, 25),
        images=False,
    )
    # Breaking the policy in different ways.
    showcase = b.group(
        "Summer Showcase",
        Platform.instagram,
        started=150,
        visibility=Visibility.public,
        ages=(11, 18),
        images=True,
    )
    beatlab = b.group(
        "Beat Lab",
        Platform.discord,
        started=300,
        approval=JoinApproval.any_member,
        ages=(14, 21),
        images=False,
    )
    producers = b.group("Young Producers", Platform.whatsapp, started=1095, ages=(16, 19), images=False)
    girls = b.group("Girls Make Music", Platform.facebook_group, started=200, ages=(11, 16), images=True)

    for g, admins, others in (
        (band, (tom, callum), (nadia,)),
        (studio, (priya, tom), (nadia,)),
        (showcase, (tom, callum), (nadia,)),
        (beatlab, (priya,), (grace, jamie)),  # one admin, no coordinator, a volunteer who has left
        (producers, (callum, tom), (nadia, megan)),  # a student who has not signed the code of conduct
        (girls, (nadia, callum), ()),
    ):
        for s in admins:
            b.member(g, s, admin=True)
        for s in others:
            b.member(g, s)

    band_kids, studio_kids = people[0:10], [*people[10:17], people[8], people[9]]
    showcase_kids, beatlab_kids = [*people[17:24], people[2]], [*people[24:31], people[12]]
    producer_kids, girls_kids = [*people[31:36], people[6]], [*people[36:40], people[17], people[18]]
    for g, kids in (
        (band, band_kids),
        (studio, studio_kids),
        (showcase, showcase_kids),
        (beatlab, beatlab_kids),
        (producers, producer_kids),
        (girls, girls_kids),
    ):
        for p in kids:
            b.member(g, p)
    # History kept: a young person who aged out of the band was taken out of it, as the policy asks.
    b.member(band, people[14], ended=60, reason="Aged out of the Youth Band (19 and under)")

    # Consents: everyone has the annual e-safety agreement except where noted; image-use consents for the
    # groups that share images.
    expired_agreement, self_consenting_15 = people[38], people[39]
    for p in people:
        if p is expired_agreement:
            b.agreement(p, given=375)  # expired ten days ago, not yet renewed
        elif p is self_consenting_15:
            # Signed by the 15-year-old herself (after her birthday), not by a parent or carer.
            b.agreement(p, given=10, self_given=True)
        else:
            b.agreement(p)
    withdrawn_images, website_only, no_images = people[21], people[22], people[23]
    for p in {id(p): p for p in [*band_kids, *showcase_kids, *girls_kids]}.values():
        if p is withdrawn_images:
            b.images(p, withdrawn=20)
        elif p is website_only:
            b.images(p, Purpose.promotional_material, Purpose.website)
        elif p is not no_images:
            b.images(p)
    b.images(people[26], given=760)  # expired a month ago; Beat Lab shares no images, so no breach
    for p in studio_kids:
        b.consent(p, ConsentKind.communication, given=b.rng.randint(30, 300), purposes=(Purpose.internal,))

    # Reviews and risk assessments.
    b.assess(band, tom, 744)
    b.assess(band, callum, 120)
    b.review(
        band, callum, 25, "Member list checked against the register; one young person aged out and removed."
    )
    b.review(band, tom, 115, "Member list checked; privacy settings unchanged.")
    b.assess(studio, priya, 372)
    b.assess(studio, tom, 100)
    b.review(studio, priya, 40, "Mailing list checked against current participants.")
    b.assess(showcase, tom, 153, privacy=False)
    b.review(showcase, callum, 50, "Account left public for the showcase publicity; to revisit.")
    b.assess(beatlab, priya, 310)
    b.review(beatlab, priya, 60, "Server roles checked.")
    b.assess(producers, callum, 1100)
    b.assess(producers, callum, 200)
    b.review(producers, tom, 400, "Member list checked.")  # and none since: overdue
    b.review(girls, nadia, 30, "Member list and consents checked.")  # never risk-assessed

    # Incidents.
    b.incident(
        Category.image_misuse,
        Severity.high,
        IncidentStatus.investigating,
        days_ago=12,
        by=tom,
        group=showcase,
        participants=(withdrawn_images,),
        summary="A showcase photo of a young person was reposted after their image consent was withdrawn",
        details="Shared from the public account and reposted by a follower outside the project.",
    )
    b.incident(
        Category.cyberbullying,
        Severity.medium,
        IncidentStatus.closed,
        days_ago=70,
        by=priya,
        group=beatlab,
        participants=(people[25], people[26]),
        outcome=Outcome.resolved_internally,
        closed=50,
        summary="Unkind comments about a member's track in the feedback channel",
        details="Messages removed; both young people and their carers spoken to; channel rules re-posted.",
    )
    b.incident(
        Category.personal_account_contact,
        Severity.medium,
        IncidentStatus.triaged,
        days_ago=5,
        by=nadia,
        group=beatlab,
        staff=(jamie,),
        summary="A member of staff messaged a participant from a personal account",
        details="The message was about session times; reminded of the policy on official accounts.",
    )
    b.incident(
        Category.filtering_breach,
        Severity.low,
        IncidentStatus.closed,
        days_ago=100,
        by=callum,
        outcome=Outcome.no_further_action,
        closed=98,
        summary="The studio PC's filter let through an unsuitable site",
        details="Filter list updated by the IT provider the same day.",
    )

    # Sign-ins: one per role with a known password, and the departed volunteer's account still enabled
    # (a finding for the coordinator: access should end when employment does).
    accounts: list[tuple[str, str, str]] = []
    by_email = {s.email: s for s in (nadia, tom, owen)}
    for role, email, password in DEMO_ACCOUNTS:
        b.add(
            User(
                id=b.id(),
                staff_id=by_email[email].id,
                email=email,
                password_hash=hash_password(password),
                role=role,
            )
        )
        accounts.append((role.value, email, password))
    # Nobody knows this password: the account exists to be found, not used.
    unknown = secrets.token_urlsafe(24)
    b.add(
        User(
            id=b.id(),
            staff_id=grace.id,
            email=grace.email,
            password_hash=hash_password(unknown),
            role=Role.staff,
        )
    )

    settings = session.exec(select(PolicySettings)).first() or PolicySettings(id=b.id())
    settings.official_email_domains = [DOMAIN]
    b.add(settings)

    # Beat Lab's member list from Discord, taken yesterday and not yet answered: one of each discrepancy.
    # Added after every other record, so the ids above stay as they were.
    listed: list[tuple[Staff | Participant | None, str | None, PlatformRole, Match]] = [
        (priya, "priya.beats", PlatformRole.member, Match.certain),  # an admin only in the records
        (grace, "grace_mentor", PlatformRole.member, Match.certain),  # left 45 days ago
        (tom, "tom.hallett", PlatformRole.admin, Match.certain),  # an admin not in the records
        (people[25], None, PlatformRole.member, Match.probable),  # on Discord under a name only
        (people[26], "beatsby_ivy", PlatformRole.member, Match.certain),
        (people[28], "lofi.lou", PlatformRole.member, Match.certain),
        (people[29], "synth_sam", PlatformRole.member, Match.certain),
        (people[30], "old.member", PlatformRole.member, Match.certain),  # left the organisation
        (people[35], "producer25", PlatformRole.member, Match.certain),  # 25; the group is for 14 to 21
        # A young person with the moderator role: only current staff may approve members.
        (people[27], "modbot_fan", PlatformRole.moderator, Match.certain),
        (None, "xX_beats_Xx", PlatformRole.member, Match.unknown),  # nobody knows who this is
    ]
    for person, handle, _, _ in listed:
        if person is not None and handle is not None:
            b.add(
                PlatformIdentity(
                    id=b.id(),
                    staff_id=person.id if isinstance(person, Staff) else None,
                    participant_id=person.id if isinstance(person, Participant) else None,
                    platform=Platform.discord,
                    kind=IdentityKind.handle,
                    value=handle,
                    match_key=handle.lower(),
                )
            )
    roster = GroupRoster(
        id=b.id(),
        group_id=beatlab.id,
        platform=Platform.discord,
        captured_on=b.ago(1),
        uploaded_by_type="user",
    )
    b.add(roster)
    # Discord shows a first name or a nickname; the unknown member shows their handle.
    rows: list[
        tuple[Staff | Participant | None, str | None, str | None, PlatformRole, Match, MatchedBy | None]
    ]
    rows = [
        (
            person,
            (person.full_name.split()[0] if handle else person.full_name) if person else handle,
            handle,
            platform_role,
            how,
            None if person is None else MatchedBy.handle if handle else MatchedBy.name,
        )
        for person, handle, platform_role, how in listed
    ]
    # Someone using Ivy's name on another account (never a probable match), and Lou listed twice, the second
    # time with an invisible character in the handle: added last, so the ids above stay as they were.
    ivy, lou = people[26], people[28]
    rows += [
        (ivy, ivy.full_name, "beatsby_ivy_official", PlatformRole.member, Match.unknown, MatchedBy.name),
        (lou, "Lou", "lofi\u200b.lou", PlatformRole.member, Match.certain, MatchedBy.handle),
    ]
    for line, (person, shown, handle, platform_role, how, by) in enumerate(rows, start=2):
        b.add(
            RosterEntry(
                id=b.id(),
                roster_id=roster.id,
                row=line,
                display_name=shown,
                handle=handle,
                platform_role=platform_role,
                match=how,
                matched_by=by,
                staff_id=person.id if isinstance(person, Staff) else None,
                participant_id=person.id if isinstance(person, Participant) else None,
            )
        )
    tally = Counter(r[4] for r in rows)
    roster.entry_count = len(rows)
    roster.certain_count = tally[Match.certain]
    roster.probable_count = roster.open_probable = tally[Match.probable]
    roster.unknown_count = roster.open_unknown = tally[Match.unknown]

    # The young people's side and how staff reach them (issue 15). Added after every other record, so the ids
    # above stay as they were. Every young person has been through the social media policy and agreed to
    # the code of conduct, except two in Girls Make Music who joined without the induction.
    for p in people:
        if p.id not in (people[36].id, people[37].id):
            b.consent(p, ConsentKind.code_of_conduct, given=b.rng.randint(20, 250), self_given=True)
    # Young Producers is a WhatsApp broadcast list: each young person sees only the staff's messages to them.
    # Beat Lab meets in its Discord server's channels, which every member reads. Nobody has said how the
    # Summer Showcase's Instagram is used (a broadcast channel, direct messages?): unknown, so it warns.
    producers.messages_seen_by_all = False
    beatlab.messages_seen_by_all = True

    # Declarations of personal social media conduct for the policy in force: everyone but the agency sound
    # engineer (who messaged a participant from a personal account) and the placement student.
    policy = session.exec(select(PolicyVersion).order_by(col(PolicyVersion.number).desc())).first()
    if policy is not None:
        for person, days_ago in ((nadia, 40), (tom, 35), (priya, 200), (callum, 90), (owen, 120)):
            b.add(
                StaffDeclaration(
                    id=b.id(),
                    staff_id=person.id,
                    policy_version_id=policy.id,
                    policy_version=policy.number,
                    declared_on=max(b.ago(days_ago), policy.published_on),
                    read_policy=True,
                    profile_private=True,
                    no_young_friends=True,
                    no_personal_messages=True,
                    no_personal_follows=True,
                    recorded_by_label=person.email,
                )
            )

    # The recurring controls the migration seeded: the security review is in order, the physical security
    # check is overdue, and the policy on the tech room's wall is due within the fortnight.
    controls = {c.code: c for c in session.exec(select(Control)).all()}
    owners: list[tuple[Control, Staff]] = []  # set once the staff rows are in (the session would flush)
    for code, owner, checked_ago in (
        ("CTL-SECURITY-REVIEW", nadia, 60),
        ("CTL-PHYSICAL-SECURITY", callum, 120),
        ("CTL-POLICY-DISPLAYED", tom, 355),
    ):
        if code not in controls:
            continue
        owners.append((controls[code], owner))
        b.add(
            ControlCheck(
                id=b.id(),
                control_id=controls[code].id,
                performed_on=b.ago(checked_ago),
                performed_by_id=owner.id,
                result=CheckResult.ok,
                evidence_ref=f"{code}-{b.ago(checked_ago).year}",
            )
        )
    # The technology register: Discord was assessed before the Beat Lab began; a music app the producers
    # started using last month was never assessed.
    discord = Technology(
        id=b.id(),
        name="Discord",
        name_key=name_key("Discord"),
        purpose="Beat Lab's server",
        first_used_on=beatlab.started_on,
    )
    soundtrap = Technology(
        id=b.id(),
        name="Soundtrap",
        name_key=name_key("Soundtrap"),
        purpose="Recording in the browser",
        first_used_on=b.ago(30),
    )
    b.add(discord)
    b.add(soundtrap)
    discord_assessed = beatlab.started_on - timedelta(days=14)
    b.add(
        TechnologyAssessment(
            id=b.id(),
            technology_id=discord.id,
            # Recorded the day it was made: a record entered later would not count as before use.
            created_at=clock.start_of(discord_assessed) + timedelta(hours=15),
            updated_at=clock.start_of(discord_assessed) + timedelta(hours=15),
            assessed_on=discord_assessed,
            assessed_by_id=priya.id,
            risks="Direct messages between members; servers found by invite links.",
            mitigations="Direct messages off for the server; invite links expire; roles set by staff.",
            decision=Decision.approved_with_conditions,
        )
    )

    # No relationships are mapped, so the unit of work cannot order the inserts: flush parents first.
    order = {table.name: i for i, table in enumerate(SQLModel.metadata.sorted_tables)}
    for row in sorted(b.rows, key=lambda r: order[str(getattr(r, "__tablename__", ""))]):
        session.add(row)
        session.flush()
    for control, owner in owners:
        control.owner_id = owner.id
        session.add(control)
    session.flush()
    # A year of compliance history recomputed from the dated facts (the demo has no settings history to lose),
    # so the trend and each finding's `since` have something to show from the first sign-in.
    forecast.backfill(session=session, start=b.today - timedelta(days=365), end=b.today)
    counts: dict[str, int] = {}
    for row in b.rows:
        name = str(getattr(row, "__tablename__", type(row).__name__))
        counts[name] = counts.get(name, 0) + 1
    audit.record(
        session,
        actor=None,
        actor_label="esafety seed-demo",
        action="demo.seed",
        entity_type="demo",
        changes={"organisation": ORG, "records": counts},
    )
    session.commit()
    return accounts


def sign_ins(session: Session) -> list[tuple[str, str, str]]:
    """The demo sign-ins that still open the door, as (role, email, password): the account exists and is
    enabled, its member of staff has not left, and the demo password was not changed. `esafety seed-demo
    --if-empty` reprints them, so a second `make run` shows how to sign in."""
    emails = [email for _, email, _ in DEMO_ACCOUNTS]
    rows = session.exec(
        select(User, Staff)
        .join(Staff, col(Staff.id) == col(User.staff_id))
        .where(col(User.email).in_(emails))
    ).all()
    found = {user.email: (user, staff) for user, staff in rows}
    working = []
    for role, email, password in DEMO_ACCOUNTS:
        if email not in found:
            continue
        user, staff = found[email]
        if (
            user.is_active
            and user.role == role
            and in_force(None, staff.left_on, clock.today())
            and verify_password(password, user.password_hash)
        ):
            working.append((role.value, email, password))
    return working
