"""Trying to break the cached dashboard and workbook (issue 19): changes made through the API itself (the
CRM's pushes, a membership or a consent ended, a member of staff leaving, a group archived or renamed), a
change of reach without a write to the group, the day rolling over, and an API key: after each, every page
and file each caller gets is the one a fresh evaluation gives (`COMPLIANCE_CACHE_ENTRIES` 0), status and
content, and no caller is shown a child they may not see."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

import api.models
from api import clock
from api.compliance import history
from api.compliance.models import Status
from api.config import get_settings
from api.consents.models import Consent, ConsentKind, Purpose
from tests.kit.auth import Actor, make_api_key, token_headers
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group
from tests.kit.consents import make_consent
from tests.kit.memberships import make_membership
from tests.test_break_org_cache import _served
from tests.test_compliance_cache import World, make_world
from tests.test_compliance_exports import _sheets
from tests.test_dashboard_cache import _empty_cache  # noqa: F401  (the autouse fixture)

CHILD_NAME_AFTER = "Zephyrine Renamed-Child"


def _paths(group: uuid.UUID) -> list[str]:
    past = clock.today() - timedelta(days=40)
    return [
        "/dashboard",
        "/dashboard/report.xlsx",
        "/api/v1/compliance/export",
        f"/api/v1/compliance/export?as_of={past}",
        f"/dashboard/groups/{group}",
        f"/dashboard/groups/{group}/findings.csv",
        f"/api/v1/groups/{group}/compliance/export",
        f"/api/v1/groups/{group}/compliance/export?as_of={past}",
    ]


def _view(client: TestClient, path: str, caller: Actor) -> tuple[int, object]:
    """A page's or a file's status and what it shows (a workbook's sheets: its zip also holds the moment it
    was written)."""
    r = client.get(path, headers=caller.headers)
    return r.status_code, _sheets(r.content) if r.content[:2] == b"PK" else r.text


def _fresh(client: TestClient, path: str, caller: Actor) -> tuple[int, object]:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(get_settings(), "compliance_cache_entries", 0)
        return _view(client, path, caller)


def _fill(client: TestClient, callers: tuple[Actor, ...], group: uuid.UUID) -> None:
    for caller in callers:
        for path in _paths(group):
            _view(client, path, caller)


def _stale(client: TestClient, callers: tuple[Actor, ...], group: uuid.UUID) -> list[tuple[str, str]]:
    """Each (role, path) whose served answer is not the fresh one."""
    return [
        (caller.role.value, path)
        for caller in callers
        for path in _paths(group)
        if _view(client, path, caller) != _fresh(client, path, caller)
    ]


@dataclass
class Scene:
    w: World
    client: TestClient
    session: Session
    coordinator: Actor
    staff: Actor

    def send(self, method: str, path: str, body: dict[str, object]) -> None:
        """`body` to `path` as the coordinator, with the record's ETag as `If-Match` where it has one."""
        headers = dict(self.coordinator.headers)
        if method != "POST" or path.count("/") > 4:
            target = path if method != "POST" else path.rsplit("/", 1)[0]
            got = self.client.get(target, headers=self.coordinator.headers)
            if got.status_code == 200 and "etag" in got.headers:
                headers["If-Match"] = got.headers["etag"]
        r = self.client.request(method, path, json=body, headers=headers)
        assert r.status_code < 300, (path, r.status_code, r.text)


def _membership_of_staff(s: Scene) -> None:
    assert s.staff.staff is not None
    m = s.session.exec(
        select(api.models.Membership).where(
            api.models.Membership.group_id == s.w.group.id,
            api.models.Membership.staff_id == s.staff.staff.id,
        )
    ).one()
    s.send("POST", f"/api/v1/memberships/{m.id}/end", {"ended_on": str(clock.today())})


def _staff_leaves(s: Scene) -> None:
    assert s.staff.staff is not None
    s.send("POST", f"/api/v1/staff/{s.staff.staff.id}/leave", {"left_on": str(clock.today())})


def _child_renamed_by_the_crm(s: Scene) -> None:
    s.send("PATCH", "/api/v1/participants/by-external-id/crm-child-1", {"full_name": CHILD_NAME_AFTER})


def _child_leaves_by_the_crm(s: Scene) -> None:
    s.send("PATCH", "/api/v1/participants/by-external-id/crm-child-1", {"left_on": str(clock.today())})


def _child_older_by_sync(s: Scene) -> None:
    r = s.client.post(
        "/api/v1/sync/participants",
        json={
            "records": [
                {
                    "external_id": "crm-child-1",
                    "full_name": CHILD_NAME_AFTER,
                    "date_of_birth": str(clock.today() - timedelta(days=365 * 30)),
                    "joined_on": str(s.w.child.joined_on),
                }
            ]
        },
        headers=make_api_key(s.session).headers,  # the CRM's key
    )
    assert r.status_code < 300, r.text


def _consent_withdrawn(s: Scene) -> None:
    consent = s.session.exec(
        select(Consent).where(
            Consent.participant_id == s.w.child.id, Consent.kind == ConsentKind.esafety_agreement
        )
    ).one()
    s.send("POST", f"/api/v1/consents/{consent.id}/withdraw", {"withdrawn_on": str(clock.today())})


def _group_archived(s: Scene) -> None:
    s.send("POST", f"/api/v1/groups/{s.w.group.id}/archive", {"archived_on": str(clock.today())})


def _group_renamed(s: Scene) -> None:
    s.send("PATCH", f"/api/v1/groups/{s.w.group.id}", {"name": "A Renamed Group"})


def _consent_withdrawn_by_the_crm(s: Scene) -> None:
    # The image-use consent, pushed again withdrawn (a consent's other fields are append-only).
    s.send(
        "PUT",
        "/api/v1/consents/by-external-id/crm-consent-1",
        {
            "participant_external_id": "crm-child-1",
            "kind": "image_use",
            "purposes": ["social_media", "website"],
            "given_by": "parent_carer",
            "given_by_name": "A Carer",
            "given_on": str(clock.today() - timedelta(days=300)),
            "withdrawn_on": str(clock.today()),
        },
    )


def _admin_training_lapsed_by_the_crm(s: Scene) -> None:
    lapsed = clock.today() - timedelta(days=3 * 366)
    s.send(
        "PATCH", "/api/v1/staff/by-external-id/crm-admin-1", {"esafety_training_completed_on": str(lapsed)}
    )


CHANGES: dict[str, Callable[[Scene], None]] = {
    "consent withdrawn by the CRM": _consent_withdrawn_by_the_crm,
    "admin's training lapsed by the CRM": _admin_training_lapsed_by_the_crm,
    "staff membership ended": _membership_of_staff,
    "staff leaves": _staff_leaves,
    "child renamed by the CRM": _child_renamed_by_the_crm,
    "child leaves by the CRM": _child_leaves_by_the_crm,
    "child older by sync": _child_older_by_sync,
    "consent withdrawn": _consent_withdrawn,
    "group archived": _group_archived,
    "group renamed": _group_renamed,
}


def _scene(client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor) -> Scene:
    """A group the member of staff is in whose young person is too old for it (so findings name them), with
    external ids on the young person, their image-use consent and an admin; and a second group the member of
    staff is not in."""
    w = make_world(session, coordinator, staff_actor)
    assert coordinator.staff is not None
    make_compliant_group(session, coordinator.staff)
    w.group.max_age = 14
    w.child.external_id = "crm-child-1"
    w.admin.external_id = "crm-admin-1"
    # The kit's image-use consent is replaced by one the CRM knows (a consent's fields but its withdrawal
    # are fixed once recorded).
    kept = session.exec(
        select(Consent).where(Consent.participant_id == w.child.id, Consent.kind == ConsentKind.image_use)
    ).one()
    kept.withdrawn_on = kept.given_on + timedelta(days=1)
    session.add_all([w.group, w.child, w.admin, kept])
    session.commit()
    make_consent(
        session,
        w.child,
        ConsentKind.image_use,
        purposes=[Purpose.social_media, Purpose.website],
        given_on=kept.given_on,
        external_id="crm-consent-1",
    )
    session.commit()
    return Scene(w, client, session, coordinator, staff_actor)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_after_a_change_through_the_api_every_caller_gets_the_fresh_pages_and_files(
    change: str, client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    s = _scene(client, session, coordinator, staff_actor)
    callers = (coordinator, trustee, staff_actor)
    _fill(client, callers, s.w.group.id)
    before = [_fresh(client, path, c) for c in callers for path in _paths(s.w.group.id)]
    CHANGES[change](s)
    assert _stale(client, callers, s.w.group.id) == []
    # The change shows somewhere: a cache that kept everything would have failed.
    assert [_fresh(client, path, c) for c in callers for path in _paths(s.w.group.id)] != before


def test_a_member_of_staff_added_to_another_group_sees_its_children_as_a_fresh_view_does(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    # Reach grows through a write to another group: the first group's counters do not move.
    s = _scene(client, session, coordinator, staff_actor)
    assert coordinator.staff is not None
    assert staff_actor.staff is not None
    other = make_compliant_group(session, coordinator.staff, name="Other group")
    callers = (coordinator, trustee, staff_actor)
    _fill(client, callers, s.w.group.id)
    make_membership(session, other, staff=staff_actor.staff)
    assert _stale(client, callers, s.w.group.id) == []
    assert _stale(client, callers, other.id) == []


def test_a_member_of_staff_s_membership_ending_at_midnight_ends_what_they_see(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    fixed_clock.set(datetime(2026, 7, 2, 22, 50, tzinfo=UTC))  # 23:50 in London
    for actor in (coordinator, staff_actor):  # signed in at ten to midnight
        assert actor.user is not None
        actor.headers = token_headers(actor.user)
    s = _scene(client, session, coordinator, staff_actor)
    assert staff_actor.staff is not None
    m = session.exec(
        select(api.models.Membership).where(
            api.models.Membership.group_id == s.w.group.id,
            api.models.Membership.staff_id == staff_actor.staff.id,
        )
    ).one()
    m.ended_on = clock.today() + timedelta(days=1)
    session.add(m)
    session.commit()
    callers = (coordinator, staff_actor)
    _fill(client, callers, s.w.group.id)
    page = f"/dashboard/groups/{s.w.group.id}"
    assert _view(client, page, staff_actor)[0] == 200
    assert _stale(client, callers, s.w.group.id) == []
    fixed_clock.advance(minutes=15)
    assert _stale(client, callers, s.w.group.id) == []
    assert _view(client, page, staff_actor)[0] == 404  # out of their reach from this morning


def test_an_api_key_reads_no_dashboard_or_workbook(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    s = _scene(client, session, coordinator, staff_actor)
    _fill(client, (coordinator,), s.w.group.id)
    key = make_api_key(session)
    for path in _paths(s.w.group.id):
        status, shown = _view(client, path, key)
        assert status in (401, 403), (path, status)
        assert s.w.child.full_name not in str(shown)


def test_two_workers_serve_the_fresh_dashboard_and_workbook_after_writes_through_either() -> None:
    """As production runs it (two uvicorn workers, a cache each, sharing only the database): after each write
    over HTTP, every page and file from either worker (several reads) is a third server's, with the cache
    off, for every kind of caller. (One test: servers started at once may pick the same port.)"""
    today = str(clock.today())
    with _served() as s:
        first, other = s.groups[0].id, s.groups[1].id
        paths = [
            "/dashboard",
            "/dashboard/report.xlsx",
            f"/api/v1/compliance/export?as_of={clock.today() - timedelta(days=1)}",
            f"/dashboard/groups/{first}",
            f"/dashboard/groups/{first}/findings.csv",
        ]

        def every_view_is_fresh(step: str) -> None:
            for headers, path in itertools.product(s.callers, paths):
                views = [httpx.get(s.cached + path, headers=headers, timeout=60) for _ in range(4)]
                expected = httpx.get(s.uncached + path, headers=headers, timeout=60)
                want = (expected.status_code, _shown(expected.content))
                for v in views:
                    assert (v.status_code, _shown(v.content)) == want, (step, path)

        every_view_is_fresh("first")
        # Its young person too old for it: a finding names them.
        r = httpx.patch(f"{s.cached}/api/v1/groups/{first}", json={"max_age": 14}, headers=s.callers[0])
        assert r.status_code == 200, r.text
        every_view_is_fresh("too old")
        s.write("PATCH", f"/groups/{first}", {"name": "AAA renamed"})
        every_view_is_fresh("renamed")
        s.write("PATCH", f"/staff/{s.other.id}", {"left_on": today})
        every_view_is_fresh("an admin of another group left")
        s.write("POST", f"/groups/{other}/archive", {"archived_on": today})
        every_view_is_fresh("another group archived")


def _shown(content: bytes) -> object:
    return _sheets(content) if content[:2] == b"PK" else content


def test_no_page_or_file_gives_a_child_away_to_a_caller_who_may_not_see_them(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """A young person too old for their group since their birthday, 13 days ago (the history says so):
    the coordinator sees their name and the day; a trustee, and a member of staff outside the group, see
    neither their name, id, carer nor the day, whoever filled the cache first."""
    s = _scene(client, session, coordinator, staff_actor)
    assert staff_actor.staff is not None
    birthday = clock.today() - timedelta(days=13)  # a day nothing else in the records falls on
    s.w.child.date_of_birth = birthday.replace(year=birthday.year - 15)
    s.w.child.carer_name, s.w.child.carer_email = "Quillon Carer", "quillon@example.org"
    session.add(s.w.child)
    session.commit()
    outcomes = {"GRP-AGE-RANGE": "fail"}
    rows = [
        {"day": birthday - timedelta(days=1), "status": Status.compliant, "outcomes": {}},
        {"day": birthday, "status": Status.non_compliant, "outcomes": outcomes},
    ]
    history.write(
        session, [{**r, "group_id": s.w.group.id, "waived": [], "recorded_at": clock.now()} for r in rows]
    )
    session.commit()
    # The member of staff leaves the child's group: the child is out of their reach from today.
    _membership_of_staff(s)
    secrets = (s.w.child.full_name, str(s.w.child.id), "Quillon", "quillon@", str(birthday))
    seen = _view(client, f"/dashboard/groups/{s.w.group.id}", coordinator)[1]
    assert s.w.child.full_name in str(seen)
    assert str(birthday) in str(seen)  # the coordinator is given the day
    _fill(client, (coordinator,), s.w.group.id)  # every page and file kept from the coordinator's view
    for viewer in (trustee, staff_actor):
        for path in _paths(s.w.group.id):
            status, shown = _view(client, path, viewer)
            assert [x for x in secrets if x in str(shown)] == [], (viewer.role, path, status)


def test_a_cache_of_one_entry_a_kind_with_days_and_callers_alternating_is_fresh(
    monkeypatch: pytest.MonkeyPatch,
    client: TestClient,
    session: Session,
    coordinator: Actor,
    trustee: Actor,
    staff_actor: Actor,
) -> None:
    """`COMPLIANCE_CACHE_ENTRIES=1`: each `as_of` asked evicts the other's table, each group page the other
    group's evaluation, while changes land between views; every page and file is still the fresh one."""
    monkeypatch.setattr(get_settings(), "compliance_cache_entries", 1)
    s = _scene(client, session, coordinator, staff_actor)
    callers = (staff_actor, trustee, coordinator)
    assert _stale(client, callers, s.w.group.id) == []
    _child_renamed_by_the_crm(s)
    assert _stale(client, callers, s.w.group.id) == []
    _group_renamed(s)
    assert _stale(client, callers, s.w.group.id) == []
    _membership_of_staff(s)
    assert _stale(client, callers, s.w.group.id) == []
