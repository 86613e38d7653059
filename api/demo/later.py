"""The demo's records added after every other one, so the ids before them stay as they were: Beat Lab's
member list from Discord, the young people's side, declarations, controls, the technology register and
the CRM's API key."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta

from sqlmodel import col, select

from api import clock
from api.auth.models import ApiKey, User
from api.auth.principal import hash_api_key
from api.auth.roles import ApiKeyScope
from api.consents.models import ConsentKind
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
from api.demo import ids
from api.demo.builder import Builder, Cast
from api.groups.models import Platform
from api.identities.models import PlatformIdentity
from api.identities.normalise import IdentityKind
from api.incidents.models import EntryKind, IncidentEntry
from api.participants.models import Participant
from api.policy.versions import PolicyVersion
from api.rosters.models import GroupRoster, Match, MatchedBy, PlatformRole, RosterEntry
from api.staff.models import Staff
from api.webhooks import payload
from api.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.webhooks.signing import new_secret


def add(b: Builder, cast: Cast) -> list[tuple[Control, Staff]]:
    """Add them to `b`; returns each control with the member of staff to own it once the rows are in."""
    session = b.session
    nadia, tom, priya, callum, grace, owen = (
        cast.nadia,
        cast.tom,
        cast.priya,
        cast.callum,
        cast.grace,
        cast.owen,
    )
    people, beatlab, producers = cast.people, cast.beatlab, cast.producers

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
                    # Recorded when the group began, as its admins came to know the handles.
                    **b.recorded(beatlab.started_on),
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
                    **b.recorded(max(b.ago(days_ago), policy.published_on)),
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
                **b.recorded(b.ago(checked_ago)),
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
    # The CRM's key, created and confirmed by the coordinator; nobody knows its secret (a real CRM gets its
    # own from POST /api-keys). It is there to be listed, rotated or revoked in "Try it out".
    coordinator = next(r for r in b.rows if isinstance(r, User) and r.staff_id == nadia.id)
    secret = "esk_" + secrets.token_urlsafe(32)
    stamps = b.recorded(b.ago(20))
    b.add(
        ApiKey(
            id=b.id(),
            name="CRM nightly sync",
            prefix=secret[:8],
            key_hash=hash_api_key(secret),
            scopes=[ApiKeyScope.read, ApiKeyScope.sync_write],
            created_by_id=coordinator.id,
            confirmed_by_id=coordinator.id,
            confirmed_at=stamps["created_at"],
            **stamps,
        )
    )
    # The CRM's webhook endpoint, registered by the coordinator; nobody holds its secret. There to be
    # changed, rotated, tested or disabled in "Try it out" (the demo runs no delivery worker).
    b.add(
        WebhookEndpoint(
            id=b.id(),
            url="https://crm.riverbankmusic.example/hooks/esafety",
            description="CRM: safeguarding alerts",
            events=[WebhookEvent.incident_reported, WebhookEvent.consent_withdrawn],
            secret=new_secret(),
            created_by_id=coordinator.id,
            **stamps,
        )
    )
    _try_it_out(b, coordinator)
    return owners


def _try_it_out(b: Builder, coordinator: User) -> None:
    """Records the spec's examples act on, added last so every earlier id stays: a claim nobody has verified
    yet (`POST /identities/{id}/verify`), a chronology entry of the showcase incident, and a delivered test
    event of the CRM's endpoint (`…/deliveries/{id}/redeliver`)."""
    b.add(
        PlatformIdentity(
            id=b.id(),
            staff_id=ids.TOM_HALLETT,
            platform=Platform.instagram,
            kind=IdentityKind.handle,
            value="tomhallett.music",
            match_key="tomhallett.music",
            verified_at=None,  # his own claim: it matches no roster entry until a coordinator verifies it
            **b.recorded(b.ago(3)),
        )
    )
    b.add(
        IncidentEntry(
            id=b.id(),
            incident_id=ids.SHOWCASE_PHOTO_INCIDENT,
            kind=EntryKind.action_taken,
            text="Asked the venue to take the photo down from its page; they agreed to by the end of the day",
            occurred_at=b.at(5, hour=10),
            author_id=ids.NADIA_OKAFOR,
            **b.recorded(b.ago(5)),
        )
    )
    sent = b.at(2, hour=11)
    delivery = WebhookDelivery(
        id=b.id(),
        endpoint_id=ids.CRM_WEBHOOK,
        event_type=WebhookEvent.webhook_test,
        body=payload.render(WebhookEvent.webhook_test, sent, {"webhook_id": ids.CRM_WEBHOOK}),
        status=DeliveryStatus.delivered,
        attempts=1,
        next_attempt_at=sent,
        last_status_code=204,
        delivered_at=sent,
        created_at=sent,
        updated_at=sent,
    )
    b.add(delivery)
    b.add(
        WebhookAttempt(id=b.id(), delivery_id=delivery.id, attempted_at=sent, status_code=204, succeeded=True)
    )
