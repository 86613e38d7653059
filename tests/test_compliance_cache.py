"""The compliance cache (api/compliance/cache.py) and the facts versions it trusts (api/facts.py): after every
kind of write, for every kind of caller, the cached answer is byte for byte the fresh one; the list of writes
is drawn from the schema, so a new table fails here until someone says how its writes reach the cache."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import anyio.to_thread
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, col, select

import api.models
from api import clock, facts
from api.auth.models import User
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.auth.roles import Role
from api.compliance import cache, history, service, watch
from api.compliance.models import Status
from api.compliance.rules import GROUP_RULE_IDS
from api.config import get_settings
from api.consents.models import Consent, ConsentKind
from api.controls.models import (
    CheckResult,
    Control,
    ControlCheck,
    Decision,
    Technology,
    TechnologyAssessment,
    name_key,
)
from api.db import may_write
from api.groups.models import Group, Visibility
from api.identities.models import PlatformIdentity
from api.identities.normalise import IdentityKind
from api.memberships.models import MemberRole
from api.participants.models import Participant
from api.policy.models import PolicySettings
from api.policy.versions import PolicyClause, PolicyVersion
from api.staff.models import Staff
from tests.kit.auth import Actor, make_actor, make_user
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group, make_waiver
from tests.kit.databases import engine_for, throwaway_database
from tests.kit.declarations import make_declaration
from tests.kit.groups import make_review, make_risk_assessment
from tests.kit.incidents import make_incident
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.records import unique
from tests.kit.rosters import make_roster, make_roster_entry
from tests.kit.staff import make_staff
from tests.kit.statements import count_statements


@dataclass
class World:
    group: Group
    child: Participant
    admin: Staff  # the group's second admin, with a sign-in account
    account: User


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # Each test's records are rolled back, counters included: start every test with nothing remembered.
    cache.clear()
    yield
    cache.clear()


def url(group_id: uuid.UUID) -> str:
    return f"/api/v1/groups/{group_id}/compliance"


def make_world(session: Session, coordinator: Actor, staff: Actor) -> World:
    assert coordinator.staff is not None
    assert staff.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    child = session.exec(
        select(Participant)
        .join_from(Participant, api.models.Membership)
        .where(api.models.Membership.group_id == group.id)
    ).one()
    admin = session.exec(
        select(Staff)
        .join_from(Staff, api.models.Membership)
        .where(api.models.Membership.group_id == group.id, Staff.id != coordinator.staff.id)
    ).one()
    make_membership(session, group, staff=staff.staff)  # staff see the group, and its child
    return World(group, child, admin, make_user(session, admin, Role.staff))


def fresh(client: TestClient, path: str, headers: dict[str, str]) -> bytes:
    """The answer evaluated afresh: the cache turned off."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(get_settings(), "compliance_cache_entries", 0)
        r = client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    return bytes(r.content)


def served(client: TestClient, path: str, headers: dict[str, str]) -> bytes:
    r = client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    return bytes(r.content)


# --- every write, by table --------------------------------------------------------------------------------

Write = Callable[[Session, World], object]


def _save(session: Session, *records: SQLModel) -> None:
    session.add_all(records)
    session.commit()


def _edit_group(session: Session, w: World) -> None:
    w.group.visibility = Visibility.public
    _save(session, w.group)


def _add_member(session: Session, w: World) -> None:
    too_young = make_participant(session, date_of_birth=clock.today() - timedelta(days=365 * 9))
    make_membership(session, w.group, participant=too_young)


def _review(session: Session, w: World) -> None:
    make_review(session, w.group, w.admin, clock.today() - timedelta(days=400))


def _risk(session: Session, w: World) -> None:
    make_risk_assessment(session, w.group, w.admin)


def _roster(session: Session, w: World) -> None:
    make_roster(session, w.group)


def _roster_entry(session: Session, w: World) -> None:
    roster = make_roster(session, w.group)
    facts_before = _versions(session, w)
    make_roster_entry(session, roster, display_name="Stranger")
    assert _versions(session, w) != facts_before


def _incident(session: Session, w: World) -> None:
    make_incident(session, w.group, w.admin)


def _waiver(session: Session, w: World) -> None:
    make_waiver(session, w.group)


def _history(session: Session, w: World) -> None:
    # The watch's own write (a Core INSERT of many rows, naming its groups through FACTS_SCOPES). Nothing
    # failing five days ago and every rule failing from three days ago: each finding failing today is dated
    # from that day, where before the write the history could not say (a history kept past this write would
    # show).
    today = clock.today()
    rows = [
        {"day": today - timedelta(days=5), "status": Status.compliant, "outcomes": {}},
        {
            "day": today - timedelta(days=3),
            "status": Status.non_compliant,
            "outcomes": dict.fromkeys(GROUP_RULE_IDS, "fail"),
        },
    ]
    history.write(
        session, [{**r, "group_id": w.group.id, "waived": [], "recorded_at": clock.now()} for r in rows]
    )
    session.commit()


def _consent(session: Session, w: World) -> None:
    # A Core UPDATE through the session, as the consents service withdraws one.
    session.execute(
        sa.update(Consent)
        .where(Consent.participant_id == w.child.id, Consent.kind == ConsentKind.image_use)  # type: ignore[arg-type]
        .values(withdrawn_on=clock.today(), withdrawal_reason="asked")
    )
    session.commit()


def _participant(session: Session, w: World) -> None:
    w.child.date_of_birth = clock.today().replace(year=clock.today().year - 30)
    _save(session, w.child)


def _staff(session: Session, w: World) -> None:
    w.admin.left_on = clock.today() - timedelta(days=1)
    _save(session, w.admin)


def _account(session: Session, w: World) -> None:
    w.account.is_active = False
    _save(session, w.account)


def _declaration(session: Session, w: World) -> None:
    # Recorded now, after the admin's first (the factory stamps both mid-afternoon of the day they claim): the
    # loads order declarations of one day by when they were recorded, then by id, not by insertion.
    now = clock.now()
    make_declaration(session, w.admin, no_young_friends=False, created_at=now, updated_at=now)


def _identity(session: Session, w: World) -> None:
    _save(
        session,
        PlatformIdentity(participant_id=w.child.id, kind=IdentityKind.handle, value="@kid", match_key="kid"),
    )


def _control(session: Session, w: World) -> Control:
    control = Control(code=unique("CTL-"), name="Backups", clause_id="X", cadence_days=30, warn_within_days=7)
    _save(session, control)
    return control


def _control_check(session: Session, w: World) -> None:
    control = _control(session, w)
    _save(
        session,
        ControlCheck(
            control_id=control.id,
            performed_on=clock.today(),
            performed_by_id=w.admin.id,
            result=CheckResult.ok,
        ),
    )


def _technology(session: Session, w: World) -> Technology:
    name = unique("Tool ")
    tool = Technology(name=name, name_key=name_key(name), purpose="Chat", first_used_on=clock.today())
    _save(session, tool)
    return tool


def _assessment(session: Session, w: World) -> None:
    tool = _technology(session, w)
    _save(
        session,
        TechnologyAssessment(
            technology_id=tool.id,
            assessed_on=clock.today(),
            assessed_by_id=w.admin.id,
            risks="Strangers",
            mitigations="Closed rooms",
            decision=Decision.approved,
        ),
    )


def _settings(session: Session, w: World) -> None:
    settings = session.exec(select(PolicySettings)).first()
    if settings is None:
        _save(session, PolicySettings(min_group_admins=3))
    else:
        settings.min_group_admins = 3
        _save(session, settings)


def _publish(session: Session, effective_on: date, text: str = "Two admins.") -> PolicyVersion:
    number = (session.exec(sa.select(sa.func.max(PolicyVersion.number))).scalar() or 0) + 1  # type: ignore[call-overload]
    version = PolicyVersion(
        number=number,
        effective_on=effective_on,
        published_on=clock.today(),
        text=text,
        published_by_label="coordinator",
    )
    _save(session, version)
    return version


def _policy_version(session: Session, w: World) -> None:
    _publish(session, clock.today())


def _policy_clause(session: Session, w: World) -> None:
    _policy_version(session, w)
    version = session.exec(select(PolicyVersion).order_by(PolicyVersion.number.desc())).first()  # type: ignore[attr-defined]
    assert version is not None
    clause = PolicyClause(
        version_id=version.id, clause_id="REC-FB-TWO-ADMINS", position=1, section="Groups", text="Two admins."
    )
    before = _versions(session, w)
    _save(session, clause)
    assert _versions(session, w) != before


# Every table a compliance answer reads, with a write to it. A new table fails
# `test_every_table_has_a_write_here_or_is_unread` until it is added here or to cache.UNREAD_TABLES.
WRITES: dict[str, Write] = {
    "online_group": _edit_group,
    "membership": _add_member,
    "group_review": _review,
    "risk_assessment": _risk,
    "group_roster": _roster,
    "roster_entry": _roster_entry,
    "incident": _incident,
    "compliance_waiver": _waiver,
    "compliance_history": _history,
    "consent": _consent,
    "participant": _participant,
    "staff": _staff,
    "user_account": _account,
    "staff_declaration": _declaration,
    "platform_identity": _identity,
    "control": _control,
    "control_check": _control_check,
    "technology": _technology,
    "technology_assessment": _assessment,
    "policy_settings": _settings,
    "policy_version": _policy_version,
    "policy_clause": _policy_clause,
}


def _versions(session: Session, w: World) -> facts.Versions:
    return facts.read(session, w.group.id)


def test_every_table_has_a_write_here_or_is_unread() -> None:
    tables = set(SQLModel.metadata.tables) - {facts.FACTS_VERSION.name}
    assert set(WRITES) | cache.UNREAD_TABLES == tables
    assert not set(WRITES) & cache.UNREAD_TABLES
    # What the cache module declares names real tables, and its group tables are among those written here.
    assert set(cache.GROUP_TABLES) <= set(WRITES)


@pytest.mark.parametrize("table", sorted(WRITES))
def test_after_each_write_every_caller_gets_the_fresh_answer(
    table: str, client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    w = make_world(session, coordinator, staff_actor)
    path = url(w.group.id)
    callers = (coordinator, trustee, staff_actor)
    for caller in callers:
        first = served(client, path, caller.headers)
        assert served(client, path, caller.headers) == first == fresh(client, path, caller.headers)
    before = _versions(session, w)
    answers = [served(client, path, c.headers) for c in callers]

    WRITES[table](session, w)

    after = _versions(session, w)
    # A young person's own facts move the groups they are in (api/compliance/people.py), not the organisation.
    by_group = table in cache.GROUP_TABLES or table in cache.PERSON_TABLES
    moved = after[0] != before[0] if by_group else after[1] != before[1]
    assert moved, (table, before, after)
    for caller in callers:
        now = served(client, path, caller.headers)
        assert now == fresh(client, path, caller.headers), (table, caller.role)
        assert served(client, path, caller.headers) == now  # and again, from the cache
    if table in CHANGES_THE_ANSWER:
        assert served(client, path, coordinator.headers) != answers[0], table


# Writes above that change the group's answer (so a missed invalidation would show as a difference).
CHANGES_THE_ANSWER = frozenset(
    {
        "online_group",
        "membership",
        "incident",
        "consent",
        "participant",
        "staff",
        "staff_declaration",
        "policy_settings",
        "compliance_history",
    }
)


def test_a_write_to_an_unread_table_keeps_the_counters(session: Session, coordinator: Actor) -> None:
    assert coordinator.staff is not None
    assert coordinator.user is not None
    group = make_compliant_group(session, coordinator.staff)
    before = facts.read(session, group.id)
    coordinator.user.last_login_at = clock.now()  # an ignored column of a table compliance reads
    _save(session, coordinator.user)
    assert facts.read(session, group.id) == before
    from tests.kit.audit import make_audit_event

    make_audit_event(session)
    assert facts.read(session, group.id) == before


def test_no_evaluation_reads_an_unread_table(
    client: TestClient,
    session: Session,
    engine: sa.Engine,
    coordinator: Actor,
    trustee: Actor,
    staff_actor: Actor,
) -> None:
    w = make_world(session, coordinator, staff_actor)
    make_incident(session, w.group, w.admin)
    assert coordinator.staff is not None
    with count_statements(session) as statements:
        for caller in (coordinator, trustee, staff_actor):
            fresh(client, url(w.group.id), caller.headers)
        client.get("/api/v1/compliance", headers=coordinator.headers).raise_for_status()
        client.get(
            f"/api/v1/staff/{coordinator.staff.id}/compliance", headers=coordinator.headers
        ).raise_for_status()
    evaluation = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert evaluation
    for table in cache.UNREAD_TABLES:
        named = re.compile(rf"(FROM|JOIN)\s+\"?{table}\"?(\s|$|,|\))", re.IGNORECASE)
        assert not [s for s in evaluation if named.search(s)], table


def test_a_cached_answer_costs_one_statement_beyond_signing_in(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    w = make_world(session, coordinator, staff_actor)
    path = url(w.group.id)
    served(client, path, coordinator.headers)
    with count_statements(session) as cold:
        fresh(client, path, coordinator.headers)
    with count_statements(session) as warm:
        served(client, path, coordinator.headers)
    with count_statements(session) as me:
        client.get("/api/v1/auth/me", headers=coordinator.headers).raise_for_status()
    assert len(warm) == len(me) + 1, warm  # the facts versions
    assert len(cold) > len(warm)


def _hand_offs(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, path: str, headers: dict[str, str]
) -> int:
    """How many times serving `path` handed work to the thread pool."""
    calls = []
    real = anyio.to_thread.run_sync

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return await real(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(anyio.to_thread, "run_sync", counted)
        client.get(path, headers=headers).raise_for_status()
    return len(calls)


def test_a_cached_answer_on_sqlite_is_found_without_a_hand_off_of_its_own(
    client: TestClient,
    session: Session,
    coordinator: Actor,
    staff_actor: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQLite: the facts versions are read and the kept answer found on the event loop (`db.reads_on_loop`),
    so a cached read hands off to the thread pool only what signing in does; PostgreSQL: one hand-off more
    (the versions' round trip and the session's close together). A first read still evaluates in the pool."""
    w = make_world(session, coordinator, staff_actor)
    path = url(w.group.id)
    first = _hand_offs(monkeypatch, client, path, coordinator.headers)
    cached = _hand_offs(monkeypatch, client, path, coordinator.headers)
    me = _hand_offs(monkeypatch, client, "/api/v1/auth/me", coordinator.headers)
    on_loop = session.get_bind().dialect.name == "sqlite"
    assert cached == (me if on_loop else me + 1)
    assert first == me + 1
    assert served(client, path, coordinator.headers) == fresh(client, path, coordinator.headers)


def _before_midnight(fixed_clock: FixedClock, session: Session) -> tuple[Actor, Group]:
    """At 23:50 in London: a coordinator and a compliant group of theirs."""
    fixed_clock.set(datetime(2026, 7, 2, 22, 50, tzinfo=UTC))
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    assert coordinator.staff is not None
    return coordinator, make_compliant_group(session, coordinator.staff)


def test_the_day_rolling_over_is_a_new_answer_without_any_write(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    coordinator, group = _before_midnight(fixed_clock, session)
    make_waiver(session, group, expires_on=clock.today() + timedelta(days=1))  # ends at midnight
    path = url(group.id)
    evening = served(client, path, coordinator.headers)
    assert served(client, path, coordinator.headers) == evening
    before = facts.read(session, group.id)
    fixed_clock.advance(minutes=15)
    morning = served(client, path, coordinator.headers)
    assert facts.read(session, group.id) == before  # nothing was written
    assert morning == fresh(client, path, coordinator.headers)
    assert json.loads(morning)["as_of"] == clock.today().isoformat() != json.loads(evening)["as_of"]
    assert json.loads(morning)["findings"] != json.loads(evening)["findings"]  # the waiver has ended


def test_a_write_between_the_versions_and_the_facts_leaves_nothing_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The write commits after the reader read the counters and before it read the facts: whatever the reader
    kept (old counters, facts old or new), the next reader gets the fresh answer."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        with Session(engine, expire_on_commit=False) as setup:
            coordinator = make_staff(setup, is_esafety_coordinator=True)
            group = make_compliant_group(setup, coordinator)
            user = make_user(setup, coordinator, Role.coordinator)
            principal = user_principal(user)
        reach = Reach.of(principal)
        real = service.group_evaluated

        def racing(**kwargs: object) -> object:
            writes = may_write.set(True)
            with Session(engine) as writer:
                g = writer.get(Group, group.id)
                assert g is not None
                g.visibility = Visibility.public
                writer.add(g)
                writer.commit()
            may_write.reset(writes)
            return real(**kwargs)  # type: ignore[arg-type]

        token = may_write.set(False)
        try:
            with Session(engine) as reader:
                before = cache.group_report_json(
                    session=reader, reach=reach, group_id=group.id, as_of=clock.today()
                )
            with Session(engine) as reader:
                monkeypatch.setattr(service, "group_evaluated", racing)
                cache.clear()
                raced = cache.group_report_json(
                    session=reader, reach=reach, group_id=group.id, as_of=clock.today()
                )
                monkeypatch.setattr(service, "group_evaluated", real)
            with Session(engine) as reader:
                after = cache.group_report_json(
                    session=reader, reach=reach, group_id=group.id, as_of=clock.today()
                )
            with Session(engine) as reader, pytest.MonkeyPatch.context() as m:
                m.setattr(get_settings(), "compliance_cache_entries", 0)
                truth = cache.group_report_json(
                    session=reader, reach=reach, group_id=group.id, as_of=clock.today()
                )
        finally:
            may_write.reset(token)
        assert b"GRP-VISIBILITY-CLOSED" in truth
        assert after == truth != before
        assert raced in (before, truth)


def test_a_session_with_its_own_writes_pending_bypasses_the_cache(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    w = make_world(session, coordinator, staff_actor)
    reach = Reach.of(user_principal(coordinator.user))  # type: ignore[arg-type]
    cached = cache.group_report_json(session=session, reach=reach, group_id=w.group.id, as_of=clock.today())
    w.group.visibility = Visibility.public
    session.add(w.group)
    session.flush()  # written, not committed: the counters have not moved yet
    assert facts.pending(session)
    seen = cache.group_report_json(session=session, reach=reach, group_id=w.group.id, as_of=clock.today())
    assert seen != cached
    session.rollback()


def test_the_watch_after_a_write_moves_the_group_counter(session: Session, coordinator: Actor) -> None:
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    watch.announce_compliance_changes(session, [group.id])  # first seen: a history row is written
    before = facts.read(session, group.id)
    group.visibility = Visibility.public
    _save(session, group)
    middle = facts.read(session, group.id)
    watch.announce_compliance_changes(session, [group.id])
    assert len({before[0], middle[0], facts.read(session, group.id)[0]}) == 3
    assert facts.read(session, group.id)[1] == before[1]  # nothing organisation-wide moved


# --- the policy kept by the organisation's counter (api/compliance/policy_facts.py) ------------------------

POLICY_TABLES = ("policy_settings", "policy_version", "policy_clause")


def test_every_write_to_the_policy_moves_the_organisations_counter() -> None:
    # What lets a load keep the policy by the organisation's counter alone.
    for table in POLICY_TABLES:
        assert table not in cache.GROUP_TABLES, table
        assert table not in cache.UNREAD_TABLES, table
        assert facts.rules().get(table, facts.Rule()) == facts.Rule(), table


def test_a_group_miss_reuses_the_policy_until_the_policy_changes(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    w = make_world(session, coordinator, staff_actor)
    path = url(w.group.id)
    served(client, path, coordinator.headers)  # keeps the policy under the organisation's counter
    _edit_group(session, w)
    with count_statements(session) as miss:
        after_group_write = served(client, path, coordinator.headers)
    with count_statements(session) as cold:
        assert fresh(client, path, coordinator.headers) == after_group_write
    # The facts versions, and neither the thresholds nor the policy in force, nor the members' details,
    # consents and declarations (a write to the group's own row leaves its members' counter alone).
    assert len(miss) == len(cold) + 1 - 2 - 3, (miss, cold)
    for table in ("policy_settings", "policy_clause"):
        before = served(client, path, coordinator.headers)
        WRITES[table](session, w)
        now = served(client, path, coordinator.headers)
        assert now == fresh(client, path, coordinator.headers), table
        if table in CHANGES_THE_ANSWER:
            assert now != before, table
        _edit_group(session, w)  # a group miss under the new policy: the new policy, kept
        assert served(client, path, coordinator.headers) == fresh(client, path, coordinator.headers), table


def test_a_policy_version_coming_into_force_at_midnight_is_read_without_any_write(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    coordinator, group = _before_midnight(fixed_clock, session)
    words = "Two admins, from midnight."
    version = _publish(session, clock.today() + timedelta(days=1), words)
    _save(
        session,
        PolicyClause(
            version_id=version.id, clause_id="REC-FB-TWO-ADMINS", position=1, section="Groups", text=words
        ),
    )
    path = url(group.id)
    evening = served(client, path, coordinator.headers)
    assert words.encode() not in evening
    before = facts.read(session, group.id)
    fixed_clock.advance(minutes=15)
    morning = served(client, path, coordinator.headers)
    assert facts.read(session, group.id) == before  # nothing was written
    assert morning == fresh(client, path, coordinator.headers)
    assert words.encode() in morning


# --- the members' counter ---------------------------------------------------------------------------------

# The statements that load what is known about a group's members alone, kept under its members' counter.
MEMBER_STATEMENTS = ("FROM consent", "FROM membership LEFT OUTER JOIN staff", "FROM staff_declaration")


def _member_loads(statements: list[str]) -> list[str]:
    return [m for m in MEMBER_STATEMENTS if any(m in " ".join(sql.split()) for sql in statements)]


@pytest.mark.parametrize("table", sorted(WRITES))
def test_the_members_are_reloaded_after_exactly_the_writes_that_can_change_them(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor, table: str
) -> None:
    """Every write either moves the members' counter (or the organisation's), so the next miss loads the
    members again, or is a write to a table of the group's own, whose rows no member statement reads: the
    members statements read membership, staff, participant, consent and staff_declaration only."""
    w = make_world(session, coordinator, staff_actor)
    path = url(w.group.id)
    served(client, path, coordinator.headers)
    before = facts.read(session, w.group.id)
    WRITES[table](session, w)
    after = facts.read(session, w.group.id)
    with count_statements(session) as statements:
        answer = served(client, path, coordinator.headers)
    assert answer == fresh(client, path, coordinator.headers), table
    reloaded = _member_loads(statements)
    kept = after.members == before.members and after.org == before.org
    if after == before:
        assert statements == [statements[0]], table  # nothing moved: the answer itself was kept
    elif kept:
        assert reloaded == [], (table, reloaded)
        assert cache.MEMBER_TABLES.isdisjoint({table}), table
    else:
        assert reloaded == list(MEMBER_STATEMENTS), (table, reloaded)
    if table in cache.MEMBER_TABLES or table not in cache.GROUP_TABLES:
        assert not kept or after == before, table


def test_a_group_s_members_counter_moves_with_its_memberships_and_any_group_named_by_hand(
    session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    w = make_world(session, coordinator, staff_actor)

    def moved(write: Callable[[], object]) -> dict[str, bool]:
        before = facts.read(session, w.group.id)
        write()
        after = facts.read(session, w.group.id)
        return {name: getattr(after, name) != getattr(before, name) for name in facts.Versions._fields}

    assert moved(lambda: _edit_group(session, w)) == {"group": True, "org": False, "members": False}
    assert moved(lambda: _end_a_membership(session, w.group.id)) == {
        "group": True,
        "org": False,
        "members": True,
    }
    # A new member of staff moves the organisation's counter as well.
    joined = moved(lambda: make_membership(session, w.group, staff=make_staff(session)))
    assert joined == {"group": True, "org": True, "members": True}

    def by_hand() -> None:
        # A write the hooks cannot see names the group by hand: it may be to anything the group's answer
        # reads, its members' own facts included, so every counter it stands on moves.
        facts.touch(session, [w.group.id])
        session.commit()

    assert moved(by_hand) == {"group": True, "org": True, "members": True}


def _end_a_membership(session: Session, group_id: uuid.UUID) -> None:
    membership = session.exec(
        select(api.models.Membership).where(
            api.models.Membership.group_id == group_id, col(api.models.Membership.ended_on).is_(None)
        )
    ).first()
    assert membership is not None
    membership.ended_on = clock.today()
    _save(session, membership)


# The statement that reads a group's memberships alone, with the people's own facts kept.
MEMBERSHIPS_ONLY = "SELECT membership.participant_id, membership.staff_id, membership.role"


def _sent(statements: list[str], start: str) -> bool:
    return any(" ".join(sql.split()).startswith(start) for sql in statements)


def _a_current_membership(session: Session, group_id: uuid.UUID, *, staff: bool) -> api.models.Membership:
    m = api.models.Membership
    person = col(m.staff_id) if staff else col(m.participant_id)
    found = session.exec(
        select(m).where(m.group_id == group_id, col(m.ended_on).is_(None), person.is_not(None))
    ).first()
    assert found is not None
    return found


@pytest.mark.parametrize("change", ["participant left", "staff became admin", "end reason", "someone new"])
def test_after_a_membership_write_only_the_memberships_are_read_again_unless_someone_is_new(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor, change: str
) -> None:
    """With the organisation's facts unchanged, each person's own facts (details, consents, declarations)
    still hold: a write to the memberships reads who is a member again and nothing else, unless a member
    is someone the kept people do not hold, who is loaded with everyone afresh."""
    w = make_world(session, coordinator, staff_actor)
    assert coordinator.staff is not None
    # Someone new comes from another group, made before the first read: adding them moves no
    # organisation-wide table.
    other = make_compliant_group(session, coordinator.staff)
    path = url(w.group.id)
    served(client, path, coordinator.headers)
    before = facts.read(session, w.group.id)
    if change == "participant left":
        ended = _a_current_membership(session, w.group.id, staff=False)
        ended.ended_on = clock.today()
        _save(session, ended)
    elif change == "staff became admin":
        promoted = _a_current_membership(session, w.group.id, staff=True)
        promoted.role = MemberRole.member if promoted.role is MemberRole.admin else MemberRole.admin
        _save(session, promoted)
    elif change == "end reason":
        noted = _a_current_membership(session, w.group.id, staff=False)
        noted.end_reason = "moving away at the end of term"
        _save(session, noted)
    else:
        newcomer = _a_current_membership(session, other.id, staff=False).participant_id
        assert newcomer is not None
        make_membership(session, w.group, participant=session.get(Participant, newcomer))
    after = facts.read(session, w.group.id)
    assert (after.members != before.members, after.org == before.org) == (True, True)
    with count_statements(session) as statements:
        answer = served(client, path, coordinator.headers)
    assert answer == fresh(client, path, coordinator.headers), change
    assert _sent(statements, MEMBERSHIPS_ONLY), change
    reloaded = _member_loads(statements)
    assert reloaded == (list(MEMBER_STATEMENTS) if change == "someone new" else []), (change, reloaded)
