"""Trying to break the compliance cache's members' counter (api/compliance/cache.py, `_members`) from the
outside: sequences of real requests that change what is known about a group's members (memberships made,
moved, ended; a young person's details and consents; a member of staff's details and declarations), each
followed by a write to the group's own row, so that the next read evaluates over the members kept; after
each, every caller's answer (today's and a past `as_of`) must be byte for byte the fresh one."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api import clock, facts
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.auth.roles import Role
from api.compliance import cache, service, watch
from api.consents.models import Consent, ConsentKind
from api.db import may_write
from api.groups.models import Group
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from api.policy.versions import PolicyVersion
from api.staff.models import Staff
from tests.kit.auth import Actor, make_actor, make_user, token_headers
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group
from tests.kit.databases import engine_for, throwaway_database
from tests.kit.incidents import make_incident
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.servers import served_by_workers
from tests.kit.staff import make_staff
from tests.kit.statements import count_statements
from tests.test_compliance_cache import _member_loads, fresh, served


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def url(group_id: uuid.UUID, as_of: date | None = None) -> str:
    path = f"/api/v1/groups/{group_id}/compliance"
    return path if as_of is None else f"{path}?as_of={as_of.isoformat()}"


@dataclass
class Scene:
    """Two groups sharing a young person and a member of staff: `one` (the coordinator, `admin`, the
    `child`, and `staff_actor`, who sees it and its child only) and `two` (its own people, and `child` and
    `admin` as well)."""

    one: Group
    two: Group
    child: Participant
    admin: Staff
    coordinator: Actor
    trustee: Actor
    staff_actor: Actor


def _scene(session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor) -> Scene:
    assert coordinator.staff is not None
    assert staff_actor.staff is not None
    one = make_compliant_group(session, coordinator.staff)
    two = make_compliant_group(session, coordinator.staff)
    child = session.exec(
        select(Participant).join_from(Participant, Membership).where(Membership.group_id == one.id)
    ).one()
    admin = session.exec(
        select(Staff)
        .join_from(Staff, Membership)
        .where(Membership.group_id == one.id, Staff.id != coordinator.staff.id)
    ).one()
    make_membership(session, one, staff=staff_actor.staff)
    make_membership(session, two, participant=child)
    make_membership(session, two, staff=admin, role=MemberRole.admin)
    return Scene(one, two, child, admin, coordinator, trustee, staff_actor)


def _every_answer_is_fresh(client: TestClient, s: Scene, step: str) -> None:
    past = clock.today() - timedelta(days=5)
    for group in (s.one, s.two):
        for caller in (s.coordinator, s.trustee, s.staff_actor):
            if caller is s.staff_actor and group is s.two:
                continue  # out of their reach: a 404 either way
            for as_of in (None, past):
                path = url(group.id, as_of)
                first = served(client, path, caller.headers)
                again = served(client, path, caller.headers)
                truth = fresh(client, path, caller.headers)
                assert first == again == truth, (step, caller.role, group is s.one, as_of)


def _rename(client: TestClient, headers: dict[str, str], group: Group) -> None:
    """A write to the group's own row only: its members' counter stays, so the next read keeps them."""
    r = client.patch(
        f"/api/v1/groups/{group.id}",
        json={"name": f"Renamed {uuid.uuid4().hex[:8]}"},
        headers=headers,
    )
    assert r.status_code == 200, r.text


def _ok(r: httpx.Response) -> dict[str, object]:
    assert r.status_code in (200, 201), r.text
    body = r.json()
    assert isinstance(body, dict)
    return body


Step = Callable[[TestClient, Session, Scene], object]


def _membership_of(session: Session, group: Group, **person: uuid.UUID) -> Membership:
    return session.exec(
        select(Membership).where(
            Membership.group_id == group.id,
            col(Membership.ended_on).is_(None),
            *(getattr(Membership, k) == v for k, v in person.items()),
        )
    ).one()


def _add_a_too_young_child(client: TestClient, session: Session, s: Scene) -> None:
    young = make_participant(session, date_of_birth=clock.today().replace(year=clock.today().year - 9))
    # From before the past `as_of` the checks ask too, so that answer changes as well.
    started = str(clock.today() - timedelta(days=10))
    body = {"group_id": str(s.one.id), "participant_id": str(young.id), "started_on": started}
    _ok(client.post("/api/v1/memberships", json=body, headers=s.coordinator.headers))


def _make_the_child_an_admin(client: TestClient, session: Session, s: Scene) -> None:
    m = _membership_of(session, s.one, participant_id=s.child.id)
    _ok(client.patch(f"/api/v1/memberships/{m.id}", json={"role": "admin"}, headers=s.coordinator.headers))


def _withdraw_image_consent(client: TestClient, session: Session, s: Scene) -> None:
    consent = session.exec(
        select(Consent).where(Consent.participant_id == s.child.id, Consent.kind == ConsentKind.image_use)
    ).one()
    body = {"withdrawn_on": str(clock.today() - timedelta(days=2)), "reason": "The carer asked"}
    _ok(client.post(f"/api/v1/consents/{consent.id}/withdraw", json=body, headers=s.coordinator.headers))


def _give_image_consent_again(client: TestClient, session: Session, s: Scene) -> None:
    body = {
        "participant_id": str(s.child.id),
        "kind": "image_use",
        "purposes": ["website", "social_media"],
        "given_by": "parent_carer",
        "given_by_name": "A Carer",
        "given_on": str(clock.today() - timedelta(days=1)),
    }
    _ok(client.post("/api/v1/consents", json=body, headers=s.coordinator.headers))


def _child_too_old(client: TestClient, session: Session, s: Scene) -> None:
    born = clock.today().replace(year=clock.today().year - 30)
    _ok(
        client.patch(
            f"/api/v1/participants/{s.child.id}",
            json={"date_of_birth": str(born)},
            headers=s.coordinator.headers,
        )
    )


def _child_leaves(client: TestClient, session: Session, s: Scene) -> None:
    body = {"left_on": str(clock.today() - timedelta(days=1))}
    _ok(client.post(f"/api/v1/participants/{s.child.id}/leave", json=body, headers=s.coordinator.headers))


def _admin_untrained(client: TestClient, session: Session, s: Scene) -> None:
    body = {"esafety_training_completed_on": str(clock.today() - timedelta(days=3000))}
    _ok(client.patch(f"/api/v1/staff/{s.admin.id}", json=body, headers=s.coordinator.headers))


def _admin_declares_young_friends(client: TestClient, session: Session, s: Scene) -> None:
    body = {
        "read_policy": True,
        "profile_private": True,
        "no_young_friends": False,
        "no_personal_messages": True,
        "no_personal_follows": True,
        "policy_version": session.exec(sa.select(sa.func.max(PolicyVersion.number))).scalar(),  # type: ignore[call-overload]
    }
    _ok(client.post(f"/api/v1/staff/{s.admin.id}/declarations", json=body, headers=s.coordinator.headers))


def _admin_moves_from_one_to_two(client: TestClient, session: Session, s: Scene) -> None:
    """A membership moved between groups the only way the API moves one: ended here, begun there."""
    m = _membership_of(session, s.one, staff_id=s.admin.id)
    body = {"ended_on": str(clock.today()), "end_reason": "Moved"}
    _ok(client.post(f"/api/v1/memberships/{m.id}/end", json=body, headers=s.coordinator.headers))
    other = make_staff(session)
    join = {
        "group_id": str(s.one.id),
        "staff_id": str(other.id),
        "role": "admin",
        "started_on": str(clock.today()),
    }
    _ok(client.post("/api/v1/memberships", json=join, headers=s.coordinator.headers))


def _admin_leaves(client: TestClient, session: Session, s: Scene) -> None:
    body = {"left_on": str(clock.today() - timedelta(days=1))}
    _ok(client.post(f"/api/v1/staff/{s.admin.id}/leave", json=body, headers=s.coordinator.headers))


def _incident_moves_from_one_to_two(client: TestClient, session: Session, s: Scene) -> None:
    """Not a member's fact: one of two serious incidents moved between groups by a correction (a version
    claim, then the change). The group it leaves still fails the same rule, so the compliance watch records
    no change for it: only the correction's own write, by the incident's group before, moves its counter
    (now that the claim alone moves none)."""
    assert s.coordinator.staff is not None
    _stays, moves = (make_incident(session, s.one, s.coordinator.staff) for _ in range(2))
    watch.announce_compliance_changes(session, [s.one.id, s.two.id])  # both groups' states recorded
    _every_answer_is_fresh(client, s, "incidents reported")
    body = {"group_id": str(s.two.id), "reason": "It happened in the other group"}
    _ok(client.patch(f"/api/v1/incidents/{moves.id}", json=body, headers=s.coordinator.headers))


def _roster_applied(client: TestClient, session: Session, s: Scene) -> None:
    """The platform's member list lists the group's staff alone: applying it ends every young person's
    membership (a version claim on each, then the change)."""
    staff = session.exec(
        select(Staff.email, Membership.role)
        .join_from(Membership, Staff, col(Staff.id) == col(Membership.staff_id))
        .where(Membership.group_id == s.one.id, col(Membership.ended_on).is_(None))
    ).all()
    entries = [{"email": email, "platform_role": str(role)} for email, role in staff]
    base = f"/api/v1/groups/{s.one.id}/rosters"
    roster = _ok(client.post(base, json={"entries": entries}, headers=s.coordinator.headers))
    etag = client.get(f"{base}/{roster['id']}", headers=s.coordinator.headers).headers["etag"]
    applied = _ok(
        client.post(f"{base}/{roster['id']}/apply", headers={**s.coordinator.headers, "If-Match": etag})
    )
    assert applied["changes"], applied


STEPS: dict[str, Step] = {
    "incident moved": _incident_moves_from_one_to_two,
    "membership added": _add_a_too_young_child,
    "membership role": _make_the_child_an_admin,
    "consent withdrawn": _withdraw_image_consent,
    "consent given": _give_image_consent_again,
    "participant's age": _child_too_old,
    "participant leaves": _child_leaves,
    "staff training": _admin_untrained,
    "staff declaration": _admin_declares_young_friends,
    "membership moved": _admin_moves_from_one_to_two,
    "staff leaves": _admin_leaves,
    "roster applied": _roster_applied,
}


def test_a_sequence_of_member_writes_each_then_a_group_write_leaves_every_answer_fresh(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    s = _scene(session, coordinator, trustee, staff_actor)
    _every_answer_is_fresh(client, s, "start")
    before = served(client, url(s.one.id), coordinator.headers)
    kept_reads = 0
    for name, step in STEPS.items():
        step(client, session, s)
        _every_answer_is_fresh(client, s, name)
        # The group's own row: the next read of each group evaluates over the members kept just now.
        for group in (s.one, s.two):
            _rename(client, s.coordinator.headers, group)
            with count_statements(session) as statements:
                kept = served(client, url(group.id), coordinator.headers)
            assert kept == fresh(client, url(group.id), coordinator.headers), name
            kept_reads += _member_loads(statements) == []
        _every_answer_is_fresh(client, s, f"{name}, then the groups renamed")
    assert kept_reads == 2 * len(STEPS)  # every read after a rename kept the members
    assert served(client, url(s.one.id), coordinator.headers) != before


def _versions_moved(session: Session, group: Group, write: Callable[[], object]) -> dict[str, bool]:
    before = facts.read(session, group.id)
    write()
    after = facts.read(session, group.id)
    return {name: getattr(after, name) != getattr(before, name) for name in facts.Versions._fields}


def test_an_update_through_the_api_to_a_group_s_own_row_keeps_its_members_and_every_other_group(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """Found: `crud` claims a record's version with a Core UPDATE of `version` alone before its change is
    flushed, and that UPDATE (a group table's row, named by no parameter the hook reads) moved the
    organisation's counter: every PATCH of a group (or a membership, a waiver revoked, an incident moved on)
    dropped the members kept for every group and every group's answer, in every worker. The tests wrote
    through the ORM, which moved the group's counter alone, so they did not see it."""
    s = _scene(session, coordinator, trustee, staff_actor)
    for group in (s.one, s.two):
        served(client, url(group.id), coordinator.headers)
    assert _versions_moved(session, s.one, lambda: _rename(client, s.coordinator.headers, s.one)) == {
        "group": True,
        "org": False,
        "members": False,
    }
    with count_statements(session) as statements:
        kept = served(client, url(s.one.id), coordinator.headers)
    assert _member_loads(statements) == []
    assert kept == fresh(client, url(s.one.id), coordinator.headers)
    with count_statements(session) as other:
        served(client, url(s.two.id), coordinator.headers)
    assert len(other) == 2, other  # signing in and the facts versions: the other group's answer was kept

    m = _membership_of(session, s.one, participant_id=s.child.id)
    role = lambda: _ok(  # noqa: E731
        client.patch(f"/api/v1/memberships/{m.id}", json={"role": "admin"}, headers=coordinator.headers)
    )
    assert _versions_moved(session, s.one, role) == {"group": True, "org": False, "members": True}
    assert served(client, url(s.one.id), coordinator.headers) == fresh(
        client, url(s.one.id), coordinator.headers
    )


def test_no_group_answer_reads_a_group_table_s_bookkeeping(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """What lets a change of `cache.BOOKKEEPING_COLUMNS` alone move no counter."""
    s = _scene(session, coordinator, trustee, staff_actor)
    with count_statements(session) as statements:
        for caller in (coordinator, trustee, staff_actor):
            fresh(client, url(s.one.id), caller.headers)
    assert len(statements) > 10
    tables = "|".join(cache.GROUP_TABLES)
    columns = "|".join(cache.BOOKKEEPING_COLUMNS)
    named = re.compile(rf"\b({tables})\"?\.\"?({columns})\b", re.IGNORECASE)
    assert not [sql for sql in statements if named.search(sql)]


# --- writes committed while a read is under way, on a database of its own (committed, not rolled back) -----


def _too_young_member(session: Session, group: Group) -> None:
    young = make_participant(session, date_of_birth=clock.today().replace(year=clock.today().year - 9))
    make_membership(session, group, participant=young, started_on=clock.today())


def _image_consent_withdrawn(session: Session, group: Group) -> None:
    child = session.exec(
        select(Participant).join_from(Participant, Membership).where(Membership.group_id == group.id)
    ).one()
    consent = session.exec(
        select(Consent).where(Consent.participant_id == child.id, Consent.kind == ConsentKind.image_use)
    ).one()
    consent.withdrawn_on = clock.today()
    consent.withdrawal_reason = "asked"
    session.add(consent)
    session.commit()


@pytest.mark.parametrize("write", [_too_young_member, _image_consent_withdrawn])
def test_a_member_write_committed_while_a_read_evaluates_over_the_members_kept_leaves_nothing_stale(
    monkeypatch: pytest.MonkeyPatch, write: Callable[[Session, Group], None]
) -> None:
    """The reader read the counters and found the members kept; the write commits before it loads the rest
    (on PostgreSQL, whose reads see each commit as it lands). Whatever the reader kept, the next reader gets
    the fresh answer, and so does every reader after a write to the group's row alone."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        with Session(engine, expire_on_commit=False) as setup:
            coordinator = make_staff(setup, is_esafety_coordinator=True)
            group = make_compliant_group(setup, coordinator)
            principal = user_principal(make_user(setup, coordinator, Role.coordinator))
        reach = Reach.of(principal)

        def read() -> bytes:
            with Session(engine) as reader:
                return cache.group_report_json(
                    session=reader, reach=reach, group_id=group.id, as_of=clock.today()
                )

        def truth() -> bytes:
            with cache.disabled():
                return read()

        def writing(change: Callable[[Session], object]) -> None:
            writes = may_write.set(True)
            try:
                with Session(engine, expire_on_commit=False) as writer:
                    change(writer)
                    writer.commit()
            finally:
                may_write.reset(writes)

        def rename(writer: Session) -> None:
            g = writer.get(Group, group.id)
            assert g is not None
            g.name = f"Renamed {uuid.uuid4().hex[:8]}"
            writer.add(g)

        real = service.group_evaluated
        kept_in_the_race: list[bool] = []

        def racing(**kwargs: object) -> object:
            kept_in_the_race.append(kwargs.get("members") is not None)
            writing(lambda w: write(w, group))
            return real(**kwargs)  # type: ignore[arg-type]

        token = may_write.set(False)
        try:
            before = read()  # the members kept
            writing(rename)  # the group's row alone: the next read evaluates over the members kept
            monkeypatch.setattr(service, "group_evaluated", racing)
            raced = read()
            monkeypatch.setattr(service, "group_evaluated", real)
            after = read()
            then = truth()
            writing(rename)
            renamed = read()
            now = truth()
        finally:
            may_write.reset(token)
        assert kept_in_the_race == [True]
        assert raced in (before, then) or _outcomes(raced) in (_outcomes(before), _outcomes(then))
        assert _outcomes(then) != _outcomes(before)  # the write changed the answer
        assert after == then
        assert renamed == now


def _outcomes(answer: bytes) -> list[tuple[str, str, str]]:
    """Each finding's rule, outcome and message (which counts the people it turns on)."""
    return [(f["rule_id"], f["outcome"], f["message"]) for f in json.loads(answer)["findings"]]


# --- midnight ---------------------------------------------------------------------------------------------


def test_members_kept_before_midnight_are_not_the_members_after_it(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    """A membership ending at midnight: the members kept at 23:50 (and read again over a write to the group's
    row) are not the morning's, though nothing was written between."""
    fixed_clock.set(datetime(2026, 7, 2, 22, 50, tzinfo=UTC))  # 23:50 in London
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    trustee = make_actor(session, Role.trustee)
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    other_admin = session.exec(
        select(Membership).where(
            Membership.group_id == group.id,
            Membership.role == MemberRole.admin,
            Membership.staff_id != coordinator.staff.id,
        )
    ).one()
    end = {"ended_on": str(clock.today() + timedelta(days=1)), "end_reason": "Leaves at midnight"}
    _ok(client.post(f"/api/v1/memberships/{other_admin.id}/end", json=end, headers=coordinator.headers))
    evening = {}
    for caller in (coordinator, trustee):
        served(client, url(group.id), caller.headers)
        _rename(client, coordinator.headers, group)
        with count_statements(session) as statements:
            evening[caller.role] = served(client, url(group.id), caller.headers)
        assert _member_loads(statements) == []  # over the members kept
        assert evening[caller.role] == fresh(client, url(group.id), caller.headers)
    fixed_clock.advance(minutes=15)
    for caller in (coordinator, trustee):
        morning = served(client, url(group.id), caller.headers)
        assert morning == fresh(client, url(group.id), caller.headers), caller.role
        assert _outcomes(morning) != _outcomes(evening[caller.role]), caller.role  # one admin left
        yesterday = url(group.id, clock.today() - timedelta(days=1))
        assert served(client, yesterday, caller.headers) == fresh(client, yesterday, caller.headers)


# --- two worker processes, each with a cache of its own ----------------------------------------------------


def test_two_workers_keeping_members_serve_the_fresh_answer_after_writes_through_either() -> None:
    """As production runs it: two uvicorn workers sharing only the database. Each request is a new
    connection, so either worker may answer it (and keep what it evaluated); after each write, a member's or
    the group's row alone, every answer is the one evaluated afresh."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        with Session(engine, expire_on_commit=False) as setup:
            coordinator = make_staff(setup, is_esafety_coordinator=True)
            group = make_compliant_group(setup, coordinator)
            user = make_user(setup, coordinator, Role.coordinator)
            young = make_participant(setup, date_of_birth=clock.today().replace(year=clock.today().year - 9))
            child_consent = setup.exec(
                select(Consent)
                .join(Membership, col(Membership.participant_id) == col(Consent.participant_id))
                .where(Membership.group_id == group.id, Consent.kind == ConsentKind.image_use)
            ).one()
        headers = token_headers(user)
        reach = Reach.of(user_principal(user))

        def truth() -> bytes:
            with Session(engine) as reader, cache.disabled():
                return cache.group_report_json(
                    session=reader, reach=reach, group_id=group.id, as_of=clock.today()
                )

        with served_by_workers(db_url, workers=2) as base:
            api = f"{base}/api/v1"

            def every_answer_is_fresh(step: str) -> bytes:
                answers = {
                    httpx.get(f"{api}/groups/{group.id}/compliance", headers=headers, timeout=60).content
                    for _ in range(12)
                }
                expected = truth()
                assert answers == {expected}, step
                return expected

            def write(method: str, path: str, body: dict[str, str]) -> None:
                r = httpx.request(method, f"{api}{path}", json=body, headers=headers, timeout=60)
                assert r.status_code in (200, 201), r.text

            def rename() -> None:
                write("PATCH", f"/groups/{group.id}", {"name": f"Renamed {uuid.uuid4().hex[:8]}"})
                every_answer_is_fresh("renamed")

            first = every_answer_is_fresh("first")
            rename()
            today = str(clock.today())
            join = {"group_id": str(group.id), "participant_id": str(young.id), "started_on": today}
            write("POST", "/memberships", join)
            joined = every_answer_is_fresh("a too young member")
            rename()
            withdraw = {"withdrawn_on": today, "reason": "The carer asked"}
            write("POST", f"/consents/{child_consent.id}/withdraw", withdraw)
            withdrawn = every_answer_is_fresh("a consent withdrawn")
            rename()
        assert len({json.dumps(_outcomes(a)) for a in (first, joined, withdrawn)}) == 3


# --- a row moved between groups by a session that had not loaded its group --------------------------------


def test_a_row_moved_from_a_group_not_loaded_moves_the_counters_of_the_group_it_left(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """A session that forgets on commit (the command line's, the delivery worker's) moves a row of a group's
    table to another group without reading it first: the flush knows the new group only. The group it left
    must miss all the same (before, a version claim's UPDATE moved the organisation's counter and hid it)."""
    s = _scene(session, coordinator, trustee, staff_actor)
    assert coordinator.staff is not None
    incident = make_incident(session, s.one, coordinator.staff)
    membership = _membership_of(session, s.one, participant_id=s.child.id)
    newcomer = make_participant(session)  # `two` has the child already: the membership moves with another
    for row in (incident, membership):
        before = served(client, url(s.one.id), coordinator.headers)
        session.expire(row)  # as a commit in such a session leaves it
        row.group_id = s.two.id
        if isinstance(row, Membership):
            row.participant_id = newcomer.id
        session.add(row)
        session.commit()
        now = served(client, url(s.one.id), coordinator.headers)
        assert now == fresh(client, url(s.one.id), coordinator.headers), type(row).__name__
        assert now != before


# --- a group named by hand (`facts.touch`, `FACTS_SCOPES`) after a write to a member's own facts ----------


# Naming a group by hand moves the organisation's counter too (api/facts.py `touch`): a write nobody
# classified may be to a member's own facts, which the people kept stand on.
@pytest.mark.parametrize("how", ["touch", "facts_scopes"])
def test_a_member_s_own_fact_written_by_hand_with_its_group_named_is_read_again(
    client: TestClient,
    session: Session,
    coordinator: Actor,
    trustee: Actor,
    staff_actor: Actor,
    how: str,
) -> None:
    s = _scene(session, coordinator, trustee, staff_actor)
    path = url(s.one.id)
    before = served(client, path, coordinator.headers)  # the group's people kept
    withdraw = (
        sa.update(Consent)
        .where(col(Consent.participant_id) == s.child.id, col(Consent.kind) == ConsentKind.image_use)
        .values(withdrawn_on=clock.today() - timedelta(days=2), withdrawal_reason="asked")
    )
    if how == "touch":
        # A write the hooks cannot see, and the group it concerns named by hand, as api/facts.py asks.
        session.connection().execute(withdraw)
        facts.touch(session, [s.one.id])
    else:
        session.execute(withdraw.execution_options(**{facts.FACTS_SCOPES: [facts.scope_of(s.one.id)]}))
    session.commit()
    truth = fresh(client, path, coordinator.headers)
    assert _outcomes(truth) != _outcomes(before)  # the consent withdrawn changes the answer
    assert served(client, path, coordinator.headers) == truth
