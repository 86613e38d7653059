"""A write about one young person moves only the groups that person is in (api/compliance/people.py): after
each kind of write to a participant or a consent, through the API and through the CRM's bulk pushes, every
cached answer (a group's, the organisation report, the dashboard, the forecast; today and on a past day) is
the fresh one for every kind of caller, exactly the groups that person is in (or a roster names) are
evaluated again, and the organisation's counter stays where it was."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, select

from api import clock, facts
from api.auth.roles import Role
from api.compliance import cache, people, service
from api.consents.models import Consent, ConsentKind, GivenBy, Purpose
from api.groups.models import Group
from api.memberships.models import Membership
from api.participants.models import Participant
from api.rosters.models import Match, PlatformRole
from tests.kit.auth import Actor
from tests.kit.compliance import make_compliant_group
from tests.kit.consents import make_consent
from tests.kit.databases import BACKEND, engine_for, throwaway_database
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.rosters import make_roster, make_roster_entry
from tests.kit.staff import make_staff
from tests.test_compliance_cache import World, fresh, make_world, served


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # Each test's records are rolled back, counters included: start every test with nothing remembered.
    cache.clear()
    yield
    cache.clear()


# --- every foreign key to a young person has a rule ---------------------------------------------------------

# How writes to each table that names a young person move the counters, and why (api/compliance/people.py's
# docstring holds every answer's reads). A new table naming `participant` fails the test below until it is
# placed here, on purpose.
NAMING_A_YOUNG_PERSON = {
    "participant": "person",  # their own record
    "consent": "person",
    "platform_identity": "person",  # read by no answer; a roster upload stores its matches on its entries
    "membership": "members",  # a group's own table: the group's two counters
    "roster_entry": "org",  # written with its roster; matched against every participant
    "incident_participant": "unread",
    "incident_notification": "unread",
}


def _kind(rule: facts.Rule | None) -> str:
    if rule is None:
        return "org"
    if rule.unread:
        return "unread"
    if rule.person_column is not None:
        return "person"
    if rule.members:
        return "members"
    return "group" if rule.group_column is not None else "org"


def test_every_table_naming_a_young_person_has_the_rule_listed_here() -> None:
    naming = {
        table.name
        for table in SQLModel.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "participant"
    } | {"participant"}
    assert naming == set(NAMING_A_YOUNG_PERSON)
    rules = facts.rules()
    assert {t: _kind(rules.get(t)) for t in naming} == NAMING_A_YOUNG_PERSON
    # A person's table is declared with the column naming them, a foreign key to the participant's id.
    for table, column in people.PERSON_TABLES.items():
        assert rules[table].person_column == column
        named = SQLModel.metadata.tables[table].c[column]
        assert table == "participant" or {fk.column.table.name for fk in named.foreign_keys} == {
            "participant"
        }


# --- the scene --------------------------------------------------------------------------------------------


@dataclass
class Scene:
    w: World  # groups[0]: its child, and the member of staff's group
    groups: list[Group]
    twice: Participant  # in groups 1 and 2
    former: Participant  # in group 3 until ten days ago
    named: Participant  # in no group; group 4's roster names them
    young: Participant  # nine years old, in group 5, no consents
    loner: Participant  # in no group, named by nothing
    past: date  # when the former member was still in group 3


def _born(years: int) -> date:
    today = clock.today()
    return today.replace(year=today.year - years) - timedelta(days=10)


def _consented(session: Session, child: Participant) -> None:
    given_on = clock.today() - timedelta(days=300)
    make_consent(session, child, ConsentKind.esafety_agreement, given_on=given_on)
    images = [Purpose.social_media, Purpose.website]
    make_consent(session, child, ConsentKind.image_use, purposes=images, given_on=given_on)
    make_consent(session, child, ConsentKind.code_of_conduct, given_by=GivenBy.participant, given_on=given_on)


def _scene(session: Session, coordinator: Actor, staff: Actor) -> Scene:
    assert coordinator.staff is not None
    w = make_world(session, coordinator, staff)
    groups = [w.group, *(make_compliant_group(session, coordinator.staff) for _ in range(6))]
    today = clock.today()

    def person(external_id: str, years: int = 15) -> Participant:
        return make_participant(
            session,
            external_id=external_id,
            date_of_birth=_born(years),
            joined_on=today - timedelta(days=400),
        )

    twice, former, named = person("crm-twice"), person("crm-former"), person("crm-named")
    young, loner = person("crm-young", years=9), person("crm-loner")
    for child in (twice, former, named, loner):
        _consented(session, child)
    make_membership(session, groups[1], participant=twice)
    make_membership(session, groups[2], participant=twice)
    started = today - timedelta(days=50)
    make_membership(
        session, groups[3], participant=former, started_on=started, ended_on=today - timedelta(days=10)
    )
    roster = make_roster(session, groups[4])
    make_roster_entry(
        session,
        roster,
        participant_id=named.id,
        match=Match.certain,
        platform_role=PlatformRole.member,
        display_name="Named On The Roster",
    )
    make_membership(session, groups[5], participant=young)
    return Scene(w, groups, twice, former, named, young, loner, today - timedelta(days=20))


def _paths(s: Scene, caller: Actor) -> list[str]:
    """What `caller` may read: a member of staff reaches group 0 alone."""
    past = f"?as_of={s.past}"
    groups = s.groups if caller.role is not Role.staff else s.groups[:1]
    return [
        "/api/v1/compliance",
        f"/api/v1/compliance{past}",
        "/api/v1/compliance/forecast",
        "/dashboard",
        *(f"/api/v1/groups/{g.id}/compliance" for g in groups),
        *(f"/api/v1/groups/{g.id}/compliance{past}" for g in groups if g is s.groups[3]),
    ]


def _answers(client: TestClient, s: Scene, callers: tuple[Actor, ...]) -> dict[tuple[str, str], bytes]:
    """Every answer served (from the cache where it stands), each checked against a fresh one."""
    answers = {}
    for caller in callers:
        for path in _paths(s, caller):
            kept = served(client, path, caller.headers)
            assert kept == fresh(client, path, caller.headers), (caller.role, path)
            answers[(str(caller.role), path)] = kept
    return answers


# --- the writes -------------------------------------------------------------------------------------------


def _record(p: Participant, **change: Any) -> dict[str, Any]:
    """The CRM's whole record of `p`, with `change`."""
    keep = ("full_name", "date_of_birth", "carer_name", "carer_email", "joined_on", "external_id")
    return {k: str(getattr(p, k)) for k in keep} | change


def _ok(r: Any) -> Any:
    assert r.status_code in (200, 201), r.text
    body = r.json()
    for result in body.get("results", []):
        assert result["status"] in ("created", "updated"), body
    return body


def _push(client: TestClient, key: Actor, what: str, *records: dict[str, Any]) -> None:
    _ok(client.post(f"/api/v1/sync/{what}", json={"records": list(records)}, headers=key.headers))


def _consent_record(p: Participant, kind: str, **more: Any) -> dict[str, Any]:
    return {
        "external_id": f"crm-consent-{uuid.uuid4().hex[:8]}",
        "participant_external_id": p.external_id,
        "kind": kind,
        "purposes": ["website", "social_media"] if kind == "image_use" else [],
        "given_by": "parent_carer",
        "given_by_name": "A Carer",
        "given_on": str(clock.today() - timedelta(days=5)),
        **more,
    }


Writing = Callable[[TestClient, Session, Scene, Actor, Actor], object]


def _api_create(client: TestClient, session: Session, s: Scene, coordinator: Actor, key: Actor) -> None:
    body = _record(s.loner, full_name="A New Child", external_id="crm-new")
    _ok(client.post("/api/v1/participants", json=body, headers=coordinator.headers))


def _api_update(client: TestClient, session: Session, s: Scene, coordinator: Actor, key: Actor) -> None:
    body = {"full_name": "Renamed Child", "date_of_birth": str(_born(9))}  # now too young for the group
    _ok(client.patch(f"/api/v1/participants/{s.w.child.id}", json=body, headers=coordinator.headers))


def _api_consent_withdrawn(
    client: TestClient, session: Session, s: Scene, coordinator: Actor, key: Actor
) -> None:
    consent = session.exec(
        select(Consent).where(Consent.participant_id == s.w.child.id, Consent.kind == ConsentKind.image_use)
    ).one()
    body = {"withdrawn_on": str(clock.today())}
    _ok(client.post(f"/api/v1/consents/{consent.id}/withdraw", json=body, headers=coordinator.headers))


def _sync_ages_out(client: TestClient, session: Session, s: Scene, coordinator: Actor, key: Actor) -> None:
    _push(client, key, "participants", _record(s.twice, date_of_birth=str(_born(30))))


def _sync_into_range(client: TestClient, session: Session, s: Scene, coordinator: Actor, key: Actor) -> None:
    _push(client, key, "participants", _record(s.young, date_of_birth=str(_born(12))))


def _sync_consent_given(
    client: TestClient, session: Session, s: Scene, coordinator: Actor, key: Actor
) -> None:
    _push(client, key, "consents", _consent_record(s.young, "esafety_agreement"))


def _sync_consent_expired(
    client: TestClient, session: Session, s: Scene, coordinator: Actor, key: Actor
) -> None:
    # A consent recorded already out of force: it expired yesterday.
    expired = _consent_record(
        s.twice, "image_use", given_on=str(clock.today() - timedelta(days=400)), expires_on=str(clock.today())
    )
    _push(client, key, "consents", expired)


def _sync_consent_withdrawn(
    client: TestClient, session: Session, s: Scene, coordinator: Actor, key: Actor
) -> None:
    record = _consent_record(s.twice, "esafety_agreement")
    _push(client, key, "consents", record)
    _push(client, key, "consents", record | {"withdrawn_on": str(clock.today())})


def _sync_former(client: TestClient, session: Session, s: Scene, coordinator: Actor, key: Actor) -> None:
    _push(client, key, "participants", _record(s.former, date_of_birth=str(_born(40)), full_name="Long Gone"))


def _sync_named(client: TestClient, session: Session, s: Scene, coordinator: Actor, key: Actor) -> None:
    _push(client, key, "participants", _record(s.named, date_of_birth=str(_born(30))))


def _sync_loner(client: TestClient, session: Session, s: Scene, coordinator: Actor, key: Actor) -> None:
    _push(client, key, "participants", _record(s.loner, full_name="Nobody's Member"))


# Each write, with the groups (by their index in the scene) whose answers it may change.
WRITES: dict[str, tuple[Writing, set[int]]] = {
    "api: a participant created": (_api_create, set()),
    "api: a participant renamed, too young now": (_api_update, {0}),
    "api: a consent withdrawn": (_api_consent_withdrawn, {0}),
    "sync: a date of birth out of range, in two groups": (_sync_ages_out, {1, 2}),
    "sync: a date of birth into range": (_sync_into_range, {5}),
    "sync: a consent given": (_sync_consent_given, {5}),
    "sync: a consent recorded expired": (_sync_consent_expired, {1, 2}),
    "sync: a consent given and withdrawn": (_sync_consent_withdrawn, {1, 2}),
    "sync: a former member, ended memberships only": (_sync_former, {3}),
    "sync: a young person a roster names": (_sync_named, {4}),
    "sync: a young person in no group": (_sync_loner, set()),
}
# Writes that change an answer (so that a missed invalidation would show): the group (by its index) whose
# coordinator's answer shows it, and whether on the past day.
CHANGES = {
    "api: a participant renamed, too young now": (0, False),
    "api: a consent withdrawn": (0, False),
    "sync: a date of birth out of range, in two groups": (2, False),
    "sync: a date of birth into range": (5, False),
    "sync: a consent given": (5, False),
    "sync: a former member, ended memberships only": (3, True),
    "sync: a young person a roster names": (4, False),
}


def _spied(monkeypatch: pytest.MonkeyPatch, name: str) -> list[set[uuid.UUID]]:
    """The groups each call of `service.<name>` loaded and evaluated, as they are made."""
    calls: list[set[uuid.UUID]] = []
    real = getattr(service, name)

    def spy(**kwargs: Any) -> Any:
        found = real(**kwargs)
        calls.append(set(found))
        return found

    monkeypatch.setattr(service, name, spy)
    return calls


def _counters(session: Session) -> dict[str, int]:
    session.rollback()  # a fresh read of what the requests committed
    rows = session.execute(sa.select(facts.FACTS_VERSION.c.scope, facts.FACTS_VERSION.c.version)).all()
    return {str(scope): int(version) for scope, version in rows}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_after_each_write_about_a_young_person_every_answer_is_fresh_and_only_their_groups_are_evaluated(
    name: str,
    client: TestClient,
    session: Session,
    coordinator: Actor,
    trustee: Actor,
    staff_actor: Actor,
    integration: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = _scene(session, coordinator, staff_actor)
    callers = (coordinator, trustee, staff_actor)
    before = _answers(client, s, callers)
    counters = _counters(session)
    write, touched = WRITES[name]

    write(client, session, s, coordinator, integration)

    after = _counters(session)
    moved = {scope for scope, version in after.items() if counters.get(scope, 0) != version}
    expected = {facts.scope_of(s.groups[i].id) for i in touched}
    assert {m for m in moved if m not in (facts.ORG, "people") and not m.startswith("m")} == expected, name
    assert facts.ORG not in moved, name
    assert "people" in moved, name
    # The organisation report and the dashboard evaluate the touched groups alone (none: nothing at all).
    lines, evaluations = _spied(monkeypatch, "group_lines"), _spied(monkeypatch, "group_evaluations")
    ids = {s.groups[i].id for i in touched}
    served(client, "/api/v1/compliance", trustee.headers)
    served(client, "/dashboard", trustee.headers)
    # (A read with every line kept may still ask for none.)
    assert [c for c in lines if c] == ([ids] if ids else []), name
    assert [c for c in evaluations if c] == ([ids] if ids else []), name
    monkeypatch.undo()
    now = _answers(client, s, callers)
    if name in CHANGES:
        index, on_the_past_day = CHANGES[name]
        path = f"/api/v1/groups/{s.groups[index].id}/compliance" + (
            f"?as_of={s.past}" if on_the_past_day else ""
        )
        key = (str(coordinator.role), path)
        assert now[key] != before[key], name


def test_a_members_write_after_a_young_person_s_write_reads_their_facts_afresh(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor, integration: Actor
) -> None:
    """The members kept across a write to a group's memberships (cache._people) stand on the young people's
    counter too: a member's date of birth pushed, then a membership of that group ended, must not bring
    back the date of birth kept before."""
    s = _scene(session, coordinator, staff_actor)
    path = f"/api/v1/groups/{s.groups[1].id}/compliance"
    served(client, path, coordinator.headers)
    _sync_ages_out(client, session, s, coordinator, integration)
    make_membership(session, s.groups[1], participant=make_participant(session), ended_on=clock.today())
    assert served(client, path, coordinator.headers) == fresh(client, path, coordinator.headers)


# --- a membership made while a write about its young person is under way (PostgreSQL) -----------------------


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL: two writers at once (SQLite runs one)")
@pytest.mark.parametrize("first", ["the write about the young person", "the membership"])
def test_a_membership_made_during_a_write_about_its_young_person_is_covered_by_that_write(first: str) -> None:
    """Transaction A changes a young person's date of birth while B makes them a member of a second group.
    Whichever writes first, the other waits for its commit (A locks the participant's row when it first
    names them; B's membership takes a share of its key), and the second group's counter moves after both
    are visible: A made first, B's commit moves it; B first, A's commit finds the membership and moves it.
    So nobody works out the second group's answer with the old date of birth under a counter that stands."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        with Session(engine, expire_on_commit=False) as setup:
            coordinator = make_staff(setup, is_esafety_coordinator=True)
            first_group, second = (make_compliant_group(setup, coordinator) for _ in range(2))
            child = make_participant(setup, date_of_birth=_born(15))
            make_membership(setup, first_group, participant=child)

        def counter(scope: str) -> int:
            with Session(engine) as reader:
                return _counters(reader).get(scope, 0)

        def a_writes(session: Session) -> None:
            moved = session.get(Participant, child.id)
            assert moved is not None
            moved.date_of_birth = _born(30)
            session.add(moved)
            session.flush()

        def b_writes(session: Session) -> None:
            session.add(Membership(group_id=second.id, participant_id=child.id, started_on=second.started_on))
            session.flush()

        leading, waiting = (a_writes, b_writes) if first.startswith("the write") else (b_writes, a_writes)
        lead, wait = Session(engine), Session(engine)
        try:
            leading(lead)

            # The second writer commits only once the counter after the first's commit has been read: else it
            # may commit (and move the counter) before that read, which would then find nothing moving after.
            counted = threading.Event()

            def then_commit() -> None:
                waiting(wait)
                counted.wait(timeout=10)
                wait.commit()

            waits = threading.Thread(target=then_commit)
            waits.start()
            waits.join(timeout=1)
            assert waits.is_alive()  # the second writer waits for the first's commit
            lead.commit()
            after_first = counter(facts.scope_of(second.id))
            counted.set()
            waits.join(timeout=10)
            assert not waits.is_alive()
            assert counter(facts.scope_of(second.id)) != after_first  # moved with, or after, both visible
            with Session(engine) as reader:
                found = reader.get(Participant, child.id)
                assert found is not None
                assert found.date_of_birth == _born(30)
        finally:
            lead.close()
            wait.close()


# --- two writers about one young person at once (PostgreSQL) ------------------------------------------------


def _write_twice_at_once(engine: sa.Engine, write: Callable[[Session], None]) -> list[BaseException]:
    """Two transactions each run `write`, flush, then commit; each waits (for a moment at most) for the other
    to have flushed before committing, as two CRM workers pushing at once would. The errors they raised."""
    both_flushed = threading.Barrier(2, timeout=3)
    errors: list[BaseException] = []

    def writer() -> None:
        with Session(engine) as session:
            try:
                write(session)
                session.flush()
                # A broken barrier: the other is waiting on this one's lock; committing lets it go on.
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_flushed.wait()
                session.commit()
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return errors


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL: two writers at once (SQLite runs one)")
@pytest.mark.parametrize("kind", ["two consents", "two changes of the record", "a consent and a change"])
def test_two_writes_about_one_young_person_at_once_both_commit(kind: str) -> None:
    """Two writes about the same young person at once (two consents pushed, two changes of their record) both
    commit, and both move the young person's group: the lock that makes a membership made at the same time
    seen is taken before the write's own rows, so neither waits at its commit for the other's share of the
    participant's key (a deadlock, one of them aborted, before)."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        with Session(engine, expire_on_commit=False) as setup:
            coordinator = make_staff(setup, is_esafety_coordinator=True)
            group = make_compliant_group(setup, coordinator)
            child = make_participant(setup, date_of_birth=_born(15))
            make_membership(setup, group, participant=child)
        calls = iter(range(2))

        def write(session: Session) -> None:
            n = next(calls)
            if kind == "two consents" or (kind == "a consent and a change" and n == 0):
                session.add(
                    Consent(
                        participant_id=child.id,
                        kind=ConsentKind.image_use,
                        purposes=[Purpose.website],
                        given_by=GivenBy.parent_carer,
                        given_by_name=f"Carer {n}",
                        given_on=clock.today() - timedelta(days=n + 1),
                    )
                )
            else:
                row = session.get(Participant, child.id)
                assert row is not None
                row.full_name = f"Renamed {n}"
                session.add(row)

        with Session(engine) as reader:
            before = _counters(reader).get(facts.scope_of(group.id), 0)
        assert _write_twice_at_once(engine, write) == []
        with Session(engine) as reader:
            assert _counters(reader).get(facts.scope_of(group.id), 0) != before
            assert (
                reader.scalar(
                    sa.select(sa.func.count())
                    .select_from(Consent)
                    .where(
                        Consent.participant_id == child.id  # type: ignore[arg-type]
                    )
                )
                == {"two consents": 2, "two changes of the record": 0, "a consent and a change": 1}[kind]
            )
