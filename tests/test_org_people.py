"""The organisation report's members kept across a write to the organisation's own tables
(api/compliance/org_people.py): after such a write every group is evaluated again without reading its
memberships, young people or consents, and the report is byte for byte a fresh one; after any write to
those (through the ORM, a Core statement, raw SQL, a delete, an upsert) the next read after an
organisation write reads them again."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from api import clock, facts, facts_people
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.compliance import answered, cache, org_people
from api.compliance.answered import EVERY_ACTIVE
from api.compliance.consent_answers import NONE_HELD
from api.compliance.loading import load_active
from api.compliance.snapshot import MemberFacts, ParticipantFacts
from api.consents.models import Consent, ConsentKind
from api.groups.models import Group
from api.memberships.models import Membership
from api.participants.models import Participant
from tests.kit.auth import Actor
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group
from tests.kit.consents import make_consent
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.statements import count_statements
from tests.test_break_org_cache import ten_to_midnight
from tests.test_compliance_cache import WRITES, World, fresh, make_world, served

REPORT = "/api/v1/compliance"

# The report's members statement and its consents' (answered.answered_queries), as sent.
# The members and consents statements of the report's load (`answered.answered_queries`): not `HORIZON`'s,
# which a later day's first report reads over the members kept.
MEMBERS_READ = (
    "SELECT membership.group_id, membership.participant_id",
    "SELECT consent.participant_id, CASE consent.kind",
)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _members_read(statements: list[str]) -> list[str]:
    sent = [" ".join(sql.split()) for sql in statements]
    return [m for m in MEMBERS_READ if any(m in sql for sql in sent)]


def _organisation_write(session: Session, w: World) -> None:
    """A member of staff's personal phone changed: a table of the organisation's own, shown by no answer."""
    w.admin.personal_phone = f"07700 9{uuid.uuid4().int % 100000:05d}"
    session.add(w.admin)
    session.commit()


def _world(session: Session, coordinator: Actor, staff_actor: Actor) -> World:
    w = make_world(session, coordinator, staff_actor)
    assert coordinator.staff is not None
    for _ in range(3):  # more groups than the one written, so a write to one is not most of them
        make_compliant_group(session, coordinator.staff)
    return w


def _standing(counters: cache.GroupsVersions) -> tuple[dict[str, int], int]:
    """What the members kept stand on: each group's counter, and `facts.UNPLACED`'s."""
    return org_people._group_counters(counters), dict(counters.every).get(facts.UNPLACED, 0)


def _report(session: Session, client: TestClient, actor: Actor) -> tuple[bytes, list[str]]:
    with count_statements(session) as statements:
        body = served(client, REPORT, actor.headers)
    return body, _members_read(statements)


def test_the_members_kept_read_only_tables_whose_every_write_moves_a_counter_they_stand_on() -> None:
    """The statements `answered.people_of` decodes name memberships, young people, consents and (which groups
    are active) groups only; a write to each moves a group's counter or the young people's (or, where the
    hook cannot tell which, `facts.UNKNOWN`, which holds the young people's): none is a table of the
    organisation's own, whose writes move the organisation's counter alone."""
    named = {
        t.name for statement in (EVERY_ACTIVE.members, EVERY_ACTIVE.consents) for t in _tables(statement)
    }
    assert named == {"membership", "participant", "consent", "online_group"}
    rules = facts.rules()
    for table in named:
        rule = rules[table]
        assert rule.group_column is not None or rule.person_column is not None, table
    assert {facts.ORG, facts_people.PEOPLE} <= facts.UNKNOWN


def _tables(statement: sa.Select[object]) -> set[sa.Table]:
    found: set[sa.Table] = set()
    for element in sa.sql.visitors.iterate(statement):
        if isinstance(element, sa.Table):
            found.add(element)
    return found


@pytest.mark.parametrize("actor_name", ["coordinator", "trustee"])
def test_after_an_organisation_write_every_group_is_evaluated_again_without_reading_its_members(
    client: TestClient,
    session: Session,
    coordinator: Actor,
    trustee: Actor,
    staff_actor: Actor,
    actor_name: str,
) -> None:
    w = _world(session, coordinator, staff_actor)
    actor = {"coordinator": coordinator, "trustee": trustee}[actor_name]
    first, read = _report(session, client, actor)
    assert read == list(MEMBERS_READ)
    counters = cache.read_groups(session)
    session.rollback()
    _organisation_write(session, w)
    after = cache.read_groups(session)
    session.rollback()
    assert after.org != counters.org
    assert _standing(after) == _standing(counters)
    again, read = _report(session, client, actor)
    assert read == []
    assert again == fresh(client, REPORT, actor.headers) == first


def test_a_change_the_organisation_write_makes_is_in_the_report_over_the_members_kept(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    """The members kept are young people's facts: a member of staff's, read afresh, shows at once (an admin
    who left fails the departed-staff rule)."""
    w = _world(session, coordinator, staff_actor)
    before, _ = _report(session, client, coordinator)
    w.admin.left_on = clock.today() - timedelta(days=1)
    session.add(w.admin)
    session.commit()
    after, read = _report(session, client, coordinator)
    assert read == []
    assert after == fresh(client, REPORT, coordinator.headers) != before
    assert b"GRP-NO-DEPARTED-STAFF" in after


def _consent_new(session: Session, w: World) -> None:
    make_consent(session, w.child, ConsentKind.code_of_conduct)


def _membership_ended(session: Session, w: World) -> None:
    m = session.exec(
        select(Membership).where(Membership.group_id == w.group.id, Membership.participant_id == w.child.id)
    ).one()
    m.ended_on = clock.today()
    session.add(m)
    session.commit()


def _participant_core_update_every_row(session: Session, w: World) -> None:
    # No WHERE: the hook cannot tell whom (`facts.UNKNOWN`).
    session.execute(sa.update(Participant).values(left_on=clock.today() - timedelta(days=1)))
    session.commit()


def _participant_raw_sql(session: Session, w: World) -> None:
    old = clock.today().replace(year=clock.today().year - 30)
    session.execute(
        sa.text("UPDATE participant SET date_of_birth = :d WHERE id = :id"),
        {"d": old, "id": w.child.id.hex if session.bind.dialect.name == "sqlite" else w.child.id},  # type: ignore[union-attr]
    )
    session.commit()


def _membership_raw_sql(session: Session, w: World) -> None:
    session.execute(
        sa.text("UPDATE membership SET ended_on = :d WHERE participant_id IS NOT NULL"), {"d": clock.today()}
    )
    session.commit()


def _consent_deleted(session: Session, w: World) -> None:
    # SQLite only: PostgreSQL refuses it (records end, consents are withdrawn: a trigger), so on PostgreSQL a
    # membership is deleted instead.
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        session.execute(sa.delete(Membership).where(Membership.participant_id == w.child.id))  # type: ignore[arg-type]
    else:
        session.execute(sa.delete(Consent).where(Consent.participant_id == w.child.id))  # type: ignore[arg-type]
    session.commit()


def _membership_orm_deleted(session: Session, w: World) -> None:
    for m in session.exec(select(Membership).where(Membership.participant_id == w.child.id)).all():
        session.delete(m)
    session.commit()


def _consent_upsert(session: Session, w: World) -> None:
    held = session.exec(
        select(Consent).where(Consent.participant_id == w.child.id, Consent.kind == ConsentKind.image_use)
    ).first()
    assert held is not None
    table = Consent.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert  # type: ignore[union-attr]
    row = {c.name: getattr(held, c.name) for c in table.columns}
    statement = insert(table).values(row)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.id], set_={"withdrawn_on": clock.today(), "withdrawal_reason": "asked"}
    )
    session.execute(statement)
    session.commit()


def _membership_moved(session: Session, w: World) -> None:
    """A membership given to another group by a Core UPDATE naming the new group only."""
    other = session.exec(select(Membership).where(Membership.group_id != w.group.id)).first()
    assert other is not None
    session.execute(
        sa.update(Membership)
        .where(Membership.group_id == w.group.id, Membership.participant_id == w.child.id)  # type: ignore[arg-type]
        .values(group_id=other.group_id)
    )
    session.commit()


MEMBER_WRITES: dict[str, Callable[[Session, World], object]] = {
    "young person's date of birth (ORM)": WRITES["participant"],
    "consent withdrawn (Core UPDATE by WHERE)": WRITES["consent"],
    "consent given (ORM)": _consent_new,
    "membership ended (ORM)": _membership_ended,
    "every young person left (Core UPDATE, no WHERE)": _participant_core_update_every_row,
    "date of birth (raw SQL)": _participant_raw_sql,
    "memberships ended (raw SQL)": _membership_raw_sql,
    "consents deleted (Core DELETE)": _consent_deleted,
    "memberships deleted (ORM)": _membership_orm_deleted,
    "consent withdrawn (upsert)": _consent_upsert,
    "membership moved to another group (Core UPDATE)": _membership_moved,
}


def check_member_write(
    client: TestClient,
    session: Session,
    callers: tuple[Actor, Actor, Actor],
    write: Callable[[Session, World], object],
    label: str,
    *,
    shown: bool,
) -> None:
    """`write` to memberships, young people or consents, then an organisation write (so that every group's
    line is missed and the load of every group runs): the write moved a counter the members kept stand on,
    the members are read again, and the report (JSON and CSV) is the fresh one for every caller of
    `callers` (coordinator, trustee, member of staff); `shown`: the coordinator's report changed."""
    coordinator, trustee, staff_actor = callers
    w = _world(session, coordinator, staff_actor)
    before, _ = _report(session, client, coordinator)
    counters = _counters(session)
    write(session, w)
    assert _standing(_counters(session)) != _standing(counters), label
    _organisation_write(session, w)
    after, read = _report(session, client, coordinator)
    assert read == list(MEMBERS_READ), label
    assert after == fresh(client, REPORT, coordinator.headers), label
    assert (after != before) is shown, label
    for caller in (trustee, staff_actor):
        for headers in (caller.headers, {**caller.headers, "Accept": "text/csv"}):
            assert served(client, REPORT, headers) == fresh(client, REPORT, headers), (label, caller.role)


@pytest.mark.parametrize("write", sorted(MEMBER_WRITES))
def test_after_any_write_to_the_members_facts_they_are_read_again(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor, write: str
) -> None:
    """Each write to memberships, young people or consents, by any path: see `check_member_write`."""
    callers = (coordinator, trustee, staff_actor)
    shown = write != "consent given (ORM)"
    check_member_write(client, session, callers, MEMBER_WRITES[write], write, shown=shown)


def test_the_members_kept_are_of_every_active_group_s_load_only(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    """A member of staff reaches some groups, and a platform asked narrows the load: neither uses nor keeps
    them, and each gets the fresh report after an organisation write."""
    w = _world(session, coordinator, staff_actor)
    path = f"{REPORT}?platform=facebook_group"
    for headers, where in ((staff_actor.headers, REPORT), (coordinator.headers, path)):
        served(client, where, headers)
        _organisation_write(session, w)
        with count_statements(session) as statements:
            body = served(client, where, headers)
        assert _members_read(statements) == list(MEMBERS_READ)
        assert body == fresh(client, where, headers)
    assert staff_actor.user is not None
    reach = Reach.of(user_principal(staff_actor.user))
    with pytest.raises(ValueError, match="every active group"):
        load_active(session=session, reach=reach, as_of=clock.today(), people={})


def test_with_staff_leaves_out_a_seat_whose_member_of_staff_is_gone() -> None:
    """PostgreSQL reads each statement in a snapshot of its own: a member of staff missing from the staff
    rows is left out, as a fresh load leaves them out, and the young people keep their order."""
    today = clock.today()
    kid = ParticipantFacts("a" * 32, None, today, None, None, (), NONE_HELD)  # type: ignore[arg-type]
    child = MemberFacts("member", today, None, None, kid)
    gone, here = uuid.uuid4().hex, uuid.uuid4().hex
    seats = ((0, 0, today, None, gone), (2, 1, today, None, here))
    people = {"g": answered.GroupPeople((None, child, None), seats)}
    staff_row = (here, "Sam", "sam@example.org", today, None, 0, 0, None, None, None)
    seated = answered.with_staff(people, [staff_row], {})["g"]
    assert [m.participant is kid for m in seated] == [True, False]
    assert seated[1].staff is not None
    assert seated[1].staff.full_name == "Sam"
    assert seated[1].role == answered._ROLES[1]


# --- across midnight: the first day anything the members' statements read could change -------------------


def _tomorrow() -> date:
    return clock.today() + timedelta(days=1)


def _membership_begins(session: Session, w: World) -> None:
    make_membership(session, w.group, participant=make_participant(session), started_on=_tomorrow())


def _membership_ends(session: Session, w: World) -> None:
    m = session.exec(
        select(Membership).where(Membership.group_id == w.group.id, Membership.participant_id == w.child.id)
    ).one()
    m.ended_on = _tomorrow()
    session.add(m)
    session.commit()


def _consent_expires(session: Session, w: World) -> None:
    make_consent(session, w.child, ConsentKind.code_of_conduct, expires_on=_tomorrow())


def _consent_given_tomorrow(session: Session, w: World) -> None:
    make_consent(session, w.child, ConsentKind.esafety_agreement, given_on=_tomorrow())


def _group_starts(session: Session, w: World) -> None:
    assert w.admin is not None
    make_compliant_group(session, w.admin, started_on=_tomorrow())


def _group_archived(session: Session, w: World) -> None:
    w.group.archived_on = _tomorrow()
    session.add(w.group)
    session.commit()


TOMORROW: dict[str, Callable[[Session, World], object]] = {
    "a membership begins": _membership_begins,
    "a membership ends": _membership_ends,
    "a consent expires": _consent_expires,
    "a consent is given (dated ahead)": _consent_given_tomorrow,
    "a group starts": _group_starts,
    "a group is archived": _group_archived,
}


def test_after_midnight_the_members_kept_serve_the_new_day_when_nothing_they_read_changes(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    coordinator, staff_actor, _ = ten_to_midnight(fixed_clock, session)
    _world(session, coordinator, staff_actor)
    _, read = _report(session, client, coordinator)
    assert read == list(MEMBERS_READ)
    before = clock.today()
    fixed_clock.advance(minutes=15)
    assert clock.today() == before + timedelta(days=1)
    body, read = _report(session, client, coordinator)
    assert read == []  # every group's line missed (a new day): evaluated again over the members kept
    assert body == fresh(client, REPORT, coordinator.headers)


@pytest.mark.parametrize("change", sorted(TOMORROW))
def test_after_midnight_the_members_are_read_again_when_a_day_they_turn_on_has_come(
    fixed_clock: FixedClock, client: TestClient, session: Session, change: str
) -> None:
    """Each write is made before the first read, dated for the next day: nothing is written after it, and
    the next day's report must still see the change."""
    coordinator, staff_actor, trustee = ten_to_midnight(fixed_clock, session)
    w = _world(session, coordinator, staff_actor)
    TOMORROW[change](session, w)
    today, read = _report(session, client, coordinator)
    assert read == list(MEMBERS_READ)
    fixed_clock.advance(minutes=15)
    tomorrow, read = _report(session, client, coordinator)
    assert read == list(MEMBERS_READ), change
    assert tomorrow == fresh(client, REPORT, coordinator.headers) != today, change
    assert served(client, REPORT, trustee.headers) == fresh(client, REPORT, trustee.headers), change


def test_a_past_day_s_members_hold_for_that_day_alone_when_consents_were_recorded_after_it(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    """A consent counts from the day it was recorded: the report on a past day, loaded after consents were
    recorded, may not serve the day after it (nothing dated says so)."""
    w = _world(session, coordinator, staff_actor)
    past = clock.today() - timedelta(days=40)
    # Given long ago, recorded today: it counts from today, so a past day's report does not show it.
    now = clock.now()
    make_consent(
        session,
        w.child,
        ConsentKind.code_of_conduct,
        given_on=past - timedelta(days=400),
        created_at=now,
        updated_at=now,
    )
    for day in (past, past + timedelta(days=1)):
        path = f"{REPORT}?as_of={day}"
        with count_statements(session) as statements:
            body = served(client, path, coordinator.headers)
        assert _members_read(statements) == list(MEMBERS_READ), day
        assert body == fresh(client, path, coordinator.headers), day
    assert org_people.kept_for(session, past + timedelta(days=1), _counters(session)) is not None
    assert org_people.kept_for(session, past + timedelta(days=2), _counters(session)) is None


def _counters(session: Session) -> cache.GroupsVersions:
    counters = cache.read_groups(session)
    session.rollback()
    return counters


# --- each group's members under its own counter ---------------------------------------------------------


class _Decoded:
    """The groups whose memberships `answered.people_of` decoded, load by load."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.groups: list[set[uuid.UUID]] = []
        real = answered.people_of

        def spied(member_rows: Any, *rest: Any) -> Any:
            rows = list(member_rows)
            self.groups.append({uuid.UUID(str(r[0])) for r in rows})
            return real(rows, *rest)

        monkeypatch.setattr(answered, "people_of", spied)


def _young_person_write(session: Session, w: World) -> None:
    w.child.personal_phone = f"07700 9{uuid.uuid4().int % 100000:05d}"
    session.add(w.child)
    session.commit()


@pytest.mark.parametrize("then", ["an organisation write", "midnight"])
def test_after_a_young_person_s_write_only_their_groups_members_are_read_again(
    fixed_clock: FixedClock, client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch, then: str
) -> None:
    """A CRM push about one child moves their groups' counters: the next full load (after an organisation
    write, or the first report of a new day) takes every other group's members from the table and reads
    theirs alone."""
    coordinator, staff_actor, trustee = ten_to_midnight(fixed_clock, session)
    w = _world(session, coordinator, staff_actor)
    served(client, REPORT, coordinator.headers)
    _young_person_write(session, w)  # the next read loads that group alone (a restricted load)
    served(client, REPORT, coordinator.headers)
    if then == "midnight":
        fixed_clock.advance(minutes=15)
    else:
        _organisation_write(session, w)
    decoded = _Decoded(monkeypatch)
    body = served(client, REPORT, coordinator.headers)
    assert decoded.groups == [{w.group.id}]
    assert body == fresh(client, REPORT, coordinator.headers)
    assert served(client, REPORT, trustee.headers) == fresh(client, REPORT, trustee.headers)


def test_when_most_groups_moved_every_group_s_members_are_read_again(
    client: TestClient,
    session: Session,
    coordinator: Actor,
    staff_actor: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = _world(session, coordinator, staff_actor)
    served(client, REPORT, coordinator.headers)
    groups = session.exec(select(Membership.group_id).distinct()).all()
    for group_id in groups[: len(groups) // 2 + 1]:
        make_membership(session, session.get(Group, group_id), participant=make_participant(session))  # type: ignore[arg-type]
    _organisation_write(session, w)
    decoded = _Decoded(monkeypatch)
    body = served(client, REPORT, coordinator.headers)
    assert decoded.groups == [set(groups)]
    assert body == fresh(client, REPORT, coordinator.headers)


def test_a_young_person_s_write_in_an_organisation_write_s_transaction_moves_their_groups(
    session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    """One transaction writes a member of staff and a child: the organisation's counter moves, and the
    child's groups' counters too (the members kept stand on those, not on the organisation's)."""
    w = _world(session, coordinator, staff_actor)
    before = _counters(session)
    w.admin.personal_phone = "07700 900123"
    w.child.personal_phone = "07700 900124"
    session.add_all([w.admin, w.child])
    session.commit()
    after = _counters(session)
    assert after.org != before.org
    assert after.of(w.group.id)[0] != before.of(w.group.id)[0]
    others = set(_standing(before)[0]) - {facts.scope_of(w.group.id)}
    assert all(_standing(after)[0][s] == _standing(before)[0][s] for s in others)


def test_a_membership_set_to_the_values_it_had_moves_no_counter(
    session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    """Setting a membership's and a consent's attributes to what they were writes nothing: no counter moves,
    so no kept answer is dropped (the flush reads again only the rows it changes, api/facts_rows.py)."""
    w = _world(session, coordinator, staff_actor)
    m = session.exec(
        select(Membership).where(Membership.group_id == w.group.id, Membership.participant_id == w.child.id)
    ).one()
    c = session.exec(select(Consent).where(Consent.participant_id == w.child.id)).first()
    assert c is not None
    before = _counters(session)
    m.ended_on, m.group_id, c.participant_id = m.ended_on, m.group_id, c.participant_id
    session.add_all([m, c])
    assert session.dirty
    session.commit()
    assert _counters(session).every == before.every
