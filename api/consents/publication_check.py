"""The publication check: who the policy protects, what a caller may be told about them, the photos, and the
limits that keep the check from becoming a directory.

Policy: "Ensuring that the personal information of staff, volunteers and service users (including service
users' names) are not published on our website", and images of children "only for the purpose for which
consent has been given".
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from api import clock
from api.audit import service as audit
from api.auth.principal import Principal
from api.auth.reach import Reach, Record
from api.config import get_settings
from api.consents import checks as consents
from api.consents import logic
from api.consents import service as consent_records
from api.consents.canonical import read
from api.consents.models import (
    Consent,
    ConsentKind,
    GivenBy,
)
from api.consents.publication import Directory, shapes
from api.consents.publication_keys import Detail, Entry, Match
from api.consents.publication_models import (
    PersonRole,
    PictureCheck,
    ProtectedPerson,
    PublicationCheckRequest,
    PublicationCheckResult,
    PublicationMatch,
)
from api.errors import Unprocessable
from api.participants.models import Participant
from api.policy import service as policy
from api.policy.models import PolicySettings
from api.ratelimit import hit_user
from api.staff.models import Staff

# What a caller is told about a detail of someone outside their reach: that it is protected, nothing more.
HIDDEN = "A protected person's detail"
RATE_ACTION = "publication_check"


class Owner(NamedTuple):
    """Whose a detail is: a participant, their carer or consent giver (by the participant), or staff."""

    role: PersonRole
    participant_id: uuid.UUID | None = None
    staff_id: uuid.UUID | None = None


# --- who is protected -------------------------------------------------------------------------------------


def _entries(session: Session) -> Iterator[Entry]:
    """Every protected detail. Past participants and staff count too: theirs must not be published either."""
    for pid, name, email, phone, carer, carer_email, carer_phone in session.execute(
        sa.select(
            col(Participant.id),
            col(Participant.full_name),
            col(Participant.personal_email),
            col(Participant.personal_phone),
            col(Participant.carer_name),
            col(Participant.carer_email),
            col(Participant.carer_phone),
        )
    ):
        child, family = Owner("participant", pid), Owner("carer", pid)
        yield Entry("name", name, child)
        for kind, value, owner in (
            ("email", email, child),
            ("phone", phone, child),
            ("name", carer, family),
            ("email", carer_email, family),
            ("phone", carer_phone, family),
        ):
            if value:
                yield Entry(kind, value, owner)  # type: ignore[arg-type]  # kind is one of the Details
    # Whoever signed a consent for a child is as identifying as the carer on record. A young person who
    # consented for themselves signed with their own name (perhaps as it was then): theirs.
    for pid, given_by, given_by_name in session.exec(
        select(col(Consent.participant_id), col(Consent.given_by), col(Consent.given_by_name)).distinct()
    ):
        role: PersonRole = "participant" if given_by == GivenBy.participant else "consent_giver"
        yield Entry("name", given_by_name, Owner(role, pid))
    # Staff: only what the policy protects of theirs, "personal (non-official) email and phone where
    # recorded". Their names and official addresses are how the organisation is meant to be reached.
    official = {d.lower() for d in policy.get(session=session).official_email_domains}
    for sid, personal_email, personal_phone in session.execute(
        sa.select(col(Staff.id), col(Staff.personal_email), col(Staff.personal_phone))
    ):
        owner = Owner("staff", staff_id=sid)
        if personal_email and personal_email.rpartition("@")[2].strip().lower() not in official:
            yield Entry("email", personal_email, owner)
        if personal_phone:
            yield Entry("phone", personal_phone, owner)


def _version(session: Session) -> tuple[object, ...]:
    """Changes whenever a protected detail can have: rows are never deleted and every change bumps a row's
    version, so a count and a sum of versions per table move with every committed write; the newest
    updated_at tells apart two states that reach the same sums (a rolled-back write and a later one). One
    statement, read from the (updated_at, version) indexes rather than the tables."""
    figures = [
        aggregate
        for table in (Participant, Consent, Staff, PolicySettings)
        for aggregate in (
            select(func.count()).select_from(table).scalar_subquery(),
            select(func.coalesce(func.sum(col(table.version)), 0)).scalar_subquery(),
            select(func.max(col(table.updated_at))).scalar_subquery(),
        )
    ]
    row = session.execute(sa.select(*figures)).one()
    return (str(session.get_bind().engine.url), *row)


_directories: dict[str, tuple[tuple[object, ...], Directory]] = {}
_building = threading.Lock()


def directory(session: Session) -> Directory:
    """The index of every protected detail, rebuilt only when the data behind it changed."""
    version = _version(session)
    url = str(version[0])
    cached = _directories.get(url)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _building:  # one build at a time: concurrent first checks wait for it rather than each build one
        cached = _directories.get(url)
        if cached is not None and cached[0] == version:
            return cached[1]
        built = Directory(_entries(session))
        _directories[url] = (version, built)
        return built


# --- what the caller may be told (the one place reach is decided for this check) -------------------------


@dataclass(frozen=True)
class Visible:
    """The people a caller may be told about: participants by id (None: all), staff records all or own."""

    participants: frozenset[uuid.UUID] | None
    all_staff: bool
    own_staff_id: uuid.UUID | None

    def sees(self, owner: Owner) -> bool:
        if owner.role == "staff":
            return self.all_staff or (owner.staff_id is not None and owner.staff_id == self.own_staff_id)
        return self.participants is None or owner.participant_id in self.participants


def visible_to(session: Session, reach: Reach) -> Visible:
    """From the organisation's reach table: participants (with their carers and consent givers) as the
    caller reaches participant records (staff: those currently in their groups); staff details to those who
    keep staff records (personal numbers are written, never read back, so no one else learns them here
    either), and to each member of staff their own."""
    participants: frozenset[uuid.UUID] | None = None
    if not reach.reads_every(Record.participant):
        ids = session.exec(select(col(Participant.id)).where(reach.participants(col(Participant.id)))).all()
        participants = frozenset(ids)
    return Visible(
        participants=participants,
        all_staff=reach.writes_every(Record.staff),
        own_staff_id=reach.caller.staff_id,
    )


# --- answering --------------------------------------------------------------------------------------------

_DETAIL = {"name": "name", "email": "email address", "phone": "phone number"}
_WHOSE = {
    "participant": "a participant's",
    "carer": "a participant's carer's",
    "consent_giver": "the {} of someone who gave a participant's consent",
    "staff": "a member of staff's",
}


def _describe(kind: Detail, role: PersonRole) -> str:
    detail = _DETAIL[kind]
    if role == "consent_giver":
        return _WHOSE[role].format(detail).capitalize()
    return f"{_WHOSE[role]} {detail}".capitalize()


def _answer(match: Match, visible: Visible) -> PublicationMatch:
    seen = sorted(
        (o for o in match.owners if isinstance(o, Owner) and visible.sees(o)),
        key=lambda o: (o.role, str(o.participant_id), str(o.staff_id)),
    )
    if not seen:
        # Outside the caller's reach: the span and that it is protected; not the kind, nor whose.
        return PublicationMatch(start=match.start, end=match.end, kind=None, description=HIDDEN, people=[])
    descriptions = dict.fromkeys(_describe(match.kind, o.role) for o in seen)
    return PublicationMatch(
        start=match.start,
        end=match.end,
        kind=match.kind,
        description="; ".join(descriptions),
        people=[
            ProtectedPerson(role=o.role, participant_id=o.participant_id, staff_id=o.staff_id) for o in seen
        ],
    )


def _pictures(session: Session, visible: Visible, data: PublicationCheckRequest) -> list[PictureCheck]:
    """Each pictured participant: whether an image consent in force today covers the purpose, decided as the
    compliance engine decides it. Unknown and out-of-reach ids get the same 422 naming the field."""
    ids = data.pictured_participant_ids
    if not ids:
        return []
    if data.purpose is None:
        raise Unprocessable.field("purpose", "name the purpose the pictures are for")
    shown = set(ids) if visible.participants is None else set(ids) & visible.participants
    births = consent_records.dates_of_birth(session, shown)
    errors = consents.listed_participants_errors("pictured_participant_ids", ids, births)
    if errors:
        raise Unprocessable(
            f"Invalid pictured participants: {', '.join(e.field for e in errors)}", errors=errors
        )
    decisions = consents.decisions(
        session=session, births=births, kind=ConsentKind.image_use, purpose=data.purpose, on=clock.today()
    )
    return [
        PictureCheck(
            participant_id=pid,
            allowed=decisions[pid].allowed,
            consent_id=decisions[pid].consent_id,
            reason=decisions[pid].reason,
            detail=logic.sentence(decisions[pid]),
        )
        for pid in ids
    ]


def _refused(session: Session, caller: Principal, data: PublicationCheckRequest, **counts: int) -> None:
    """Audit a refused check as every other: who, when, the counts behind the refusal; never the text."""
    audit.record(
        session,
        actor=caller,
        action="publication_check.refused",
        entity_type="publication_check",
        changes={**counts, "characters": len(data.text)},
    )
    session.commit()


def check(*, session: Session, reach: Reach, data: PublicationCheckRequest) -> PublicationCheckResult:
    """Every protected detail in the text, and whether each pictured participant's image consent covers the
    purpose. `clean` only when nothing was found and every pictured person is covered.

    Errors: 429 over the per-user rate (PUBLICATION_CHECKS_PER_MINUTE); 422 `text` when it holds more
    phone-number- or email-shaped strings than PUBLICATION_MAX_CONTACT_SHAPES (a list of numbers is a lookup,
    not a text to publish); 422 `purpose` when pictures are named without one; 422
    `pictured_participant_ids.<i>` for an id listed twice, unknown or outside the caller's reach (said alike);
    422 `text` when more of its words begin a protected name than PUBLICATION_MAX_NAME_STARTS (a list of
    names to try). Every check is audited, refused ones too: who, when, the counts; never the text."""
    settings = get_settings()
    caller = reach.caller
    if caller.kind == "user":  # another system's key is already limited per key, and holds no user row
        hit_user(
            session,
            user_id=caller.id,
            action=RATE_ACTION,
            limit=settings.publication_checks_per_minute,
            what="publication checks",
        )
    folded = read(data.text, data.content_type)
    found_shapes = shapes(folded)
    if found_shapes > settings.publication_max_contact_shapes:
        _refused(session, caller, data, contact_shapes=found_shapes)
        raise Unprocessable.field(
            "text",
            f"The text holds {found_shapes} phone-number- or email-shaped strings; a check takes at most "
            f"{settings.publication_max_contact_shapes}. A text for publication rarely has so many: check it "
            "in parts, or ask the e-safety coordinator.",
        )
    index = directory(session)
    name_starts = index.name_starts(folded)
    if name_starts > settings.publication_max_name_starts:
        # The count is not told: told, it would say whether one more word is the start of someone's name.
        _refused(session, caller, data, name_starts=name_starts)
        raise Unprocessable.field(
            "text",
            "The text holds more words that begin a protected person's name than a check takes "
            f"(PUBLICATION_MAX_NAME_STARTS, {settings.publication_max_name_starts}): a list of names is a "
            "lookup, not a text to publish. Check it in parts, or ask the e-safety coordinator.",
        )
    visible = visible_to(session, reach)
    try:
        pictures = _pictures(session, visible, data)
    except Unprocessable:
        _refused(session, caller, data, pictured=len(data.pictured_participant_ids or ()))
        raise
    matches = [_answer(m, visible) for m in index.find(folded)]
    clean = not matches and all(p.allowed for p in pictures)
    audit.record(
        session,
        actor=caller,
        action="publication_check.run",
        entity_type="publication_check",
        changes={
            "matches": len(matches),
            "hidden_matches": sum(m.kind is None for m in matches),
            "pictured": len(pictures),
            "pictured_not_covered": sum(not p.allowed for p in pictures),
            "clean": clean,
            "read_as": folded.read_as,
            "characters": len(data.text),
        },
    )
    session.commit()
    return PublicationCheckResult(
        clean=clean, read_as=folded.read_as, matches=matches, purpose=data.purpose, pictured=pictures
    )
