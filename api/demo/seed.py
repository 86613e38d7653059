"""`seed`: load the demo organisation (api/demo/__init__.py says what it shows), in one transaction, with one
audit event saying it was loaded; `sign_ins`: the demo sign-ins that still work."""

from __future__ import annotations

import random
import secrets
from datetime import date, timedelta

from sqlmodel import Session, SQLModel, col, select

from api import clock
from api.audit import service as audit
from api.auth.models import User
from api.auth.passwords import hash_password, verify_password
from api.auth.roles import Role
from api.common import in_force
from api.compliance import backfill
from api.consents.models import ConsentKind, Purpose
from api.demo import later
from api.demo.builder import Builder, Cast
from api.demo.names import (
    DEMO_ACCOUNTS,
    DOMAIN,
    ORG,
    SEED,
)
from api.groups.models import JoinApproval, Platform, Visibility
from api.incidents.models import (
    Category,
    IncidentOutcome,
    IncidentStatus,
    Severity,
)
from api.policy.models import PolicySettings
from api.staff.models import EmploymentType, Staff


def seed(session: Session, today: date | None = None) -> list[tuple[str, str, str]]:
    """Load the demo organisation; returns the demo sign-ins as (role, email, password)."""
    coordinator_email = DEMO_ACCOUNTS[0][1]
    if session.exec(select(Staff.id).where(Staff.email == coordinator_email)).first() is not None:
        raise ValueError(f"The {ORG} demo is already loaded in this database")
    b = Builder(session=session, today=today or clock.today(), rng=random.Random(SEED))  # noqa: S311 - repeatable demo data, not secrets
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
        outcome=IncidentOutcome.resolved_internally,
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
        outcome=IncidentOutcome.no_further_action,
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

    cast = Cast(nadia, tom, priya, callum, grace, owen, people, beatlab, producers)
    owners = later.add(b, cast)

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
    backfill.backfill(session=session, start=b.today - timedelta(days=365), end=b.today)
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
