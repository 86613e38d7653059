"""Every request body's examples are bodies the API accepts: Swagger UI's "Try it out" starts from them.

Two checks: each example validates against its own model (the schema names it in the served spec), and the
first example of each route, sent by a coordinator (an API key for bulk sync) with its made-up ids swapped
for real records, is answered 2xx. The ids are the only thing swapped; dates and values are the example's.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlmodel import Session, select

from api import clock
from api.auth.models import User
from api.auth.roles import Role
from api.consents.models import ConsentKind, GivenBy, Purpose
from api.controls.models import Control, Technology
from api.identities.models import PlatformIdentity
from api.identities.normalise import IdentityKind
from api.incidents.models import IncidentStatus, Severity
from api.main import create_app
from api.policy.versions import PolicyVersion
from api.webhooks.models import WebhookEndpoint, WebhookEvent
from api.webhooks.signing import new_secret
from tests.kit.auth import PASSWORD, Actor, make_actor, make_api_key, make_user
from tests.kit.consents import make_consent
from tests.kit.groups import make_group
from tests.kit.incidents import make_incident
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.rosters import make_roster, make_roster_entry
from tests.kit.staff import make_staff
from tests.matrix import EXPECTED
from tests.matrix.roles import Caller

SPEC = create_app().openapi()
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}
# Filled by Swagger UI's Authorize dialog, not by "Try it out": a credentials example would only mislead.
NO_EXAMPLE = {"Body_sign_in"}

# The made-up ids the examples use, by what they stand for (see the models' `forbid_extra(...)`).
GROUP = "5b0c3e9a-8d2f-4c61-9a7e-2f1d6b8c4e10"
LEADER = "9d3f6a21-4b7c-4e8d-a1f2-6c5b7e9d0a34"
OTHER_STAFF = "c2e8b4d6-1a3f-4b9e-8d7c-5f0a2e6b9c41"
CHILD = "1e7a9c3b-6d2f-4a8e-b5c1-8f3d0e7a2b56"
OTHER_CHILD = "7f4b2d8e-3c1a-4e6f-9b0d-2a5c8e1f4d73"


def _models() -> dict[str, type[BaseModel]]:
    """The application's models by schema name (the spec names a body's schema after its class)."""
    found: dict[str, list[type[BaseModel]]] = {}
    stack: list[type[BaseModel]] = [BaseModel]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("api."):
            found.setdefault(cls.__name__, []).append(cls)
    return {name: classes[0] for name, classes in found.items() if len(set(classes)) == 1}


MODELS = _models()


def _bodies() -> list[tuple[str, str, str]]:
    """(method, path, schema name) of every JSON or form request body the app serves."""
    out = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS or "requestBody" not in op:
                continue
            # A body read in several forms (a roster: JSON or CSV) has one model, in its JSON form.
            (media,) = [m for m in op["requestBody"]["content"].values() if "$ref" in m["schema"]]
            out.append((method.upper(), path, media["schema"]["$ref"].rsplit("/", 1)[-1]))
    return out


BODIES = _bodies()
IDS = [f"{m} {p}" for m, p, _ in BODIES]
EXAMPLES = [
    (name, i, example)
    for name in sorted({n for _, _, n in BODIES} - NO_EXAMPLE)
    for i, example in enumerate(SPEC["components"]["schemas"][name].get("examples", []))
]


def test_bodies_were_found() -> None:
    # A walk that found nothing would pass every check below.
    assert len(BODIES) >= 30
    assert len(EXAMPLES) >= len({n for _, _, n in BODIES} - NO_EXAMPLE)


@pytest.mark.parametrize(("name", "index", "example"), EXAMPLES, ids=[f"{n}[{i}]" for n, i, _ in EXAMPLES])
def test_each_example_validates_against_its_model(name: str, index: int, example: dict[str, Any]) -> None:
    assert name in MODELS, f"no unique model class named {name}"
    MODELS[name].model_validate(example)


def _world(session: Session) -> dict[str, str]:
    """Records the examples' ids stand for, dated well before the examples' dates."""
    # The CRM's ids of the demo's first member of staff and first young person, which the partial pushes'
    # examples (PATCH by external id, bulk sync's merge mode) name.
    leader = make_staff(
        session,
        started_on=date(2020, 1, 6),
        code_of_conduct_signed_on=date(2020, 1, 6),
        external_id="CRM-S0100",
    )
    other = make_staff(session, started_on=date(2021, 4, 12))
    make_user(session, other, Role.staff)
    group = make_group(session, started_on=date(2020, 9, 1), min_age=11, max_age=25)
    child = make_participant(
        session, date_of_birth=date(2011, 3, 14), joined_on=date(2022, 9, 5), external_id="CRM-P0001"
    )
    other_child = make_participant(session, date_of_birth=date(2010, 6, 2), joined_on=date(2021, 9, 6))
    membership = make_membership(session, group, staff=leader, started_on=date(2020, 9, 1))
    consent = make_consent(
        session,
        child,
        kind=ConsentKind.image_use,
        purposes=[Purpose.website],
        given_by=GivenBy.parent_carer,
        given_on=date(2024, 9, 2),
        expires_on=None,
    )
    incident = make_incident(
        session,
        group,
        leader,
        participants=[child],
        severity=Severity.medium,
        occurred_at=datetime(2025, 11, 1, 18, 0, tzinfo=UTC),
        summary="Unkind comments under a member's video",
        status=IncidentStatus.reported,
    )
    account = session.exec(select(User.id).where(User.staff_id == other.id)).one()
    identity = PlatformIdentity(
        staff_id=other.id,
        kind=IdentityKind.email,
        value="x@example.org",
        match_key="x",
        # Recorded before the example's end day (an identity cannot end before it was recorded).
        created_at=datetime(2025, 1, 6, tzinfo=UTC),
    )
    session.add(identity)
    roster = make_roster(session, group, captured_on=date(2025, 11, 3))
    entry = make_roster_entry(session, roster)
    technology = Technology(name="Padlet", name_key="padlet", purpose="Shared boards", first_used_on=None)
    session.add(technology)
    hook = WebhookEndpoint(
        url="https://crm.riverbankmusic.example/hooks/esafety",
        events=[WebhookEvent.incident_reported],
        secret=new_secret(),
    )
    session.add(hook)
    session.commit()
    key = make_api_key(session).key
    assert key is not None
    control = session.exec(select(Control.id).where(Control.code == "CTL-SECURITY-REVIEW")).one()
    return {
        GROUP: str(group.id),
        LEADER: str(leader.id),
        OTHER_STAFF: str(other.id),
        CHILD: str(child.id),
        OTHER_CHILD: str(other_child.id),
        "{group_id}": str(group.id),
        "{staff_id}": str(leader.id),
        "{participant_id}": str(child.id),
        "{membership_id}": str(membership.id),
        "{consent_id}": str(consent.id),
        "{incident_id}": str(incident.id),
        "{user_id}": str(account),
        "{identity_id}": str(identity.id),
        "{roster_id}": str(roster.id),
        "{roster_entry_id}": str(entry.id),
        "{key_id}": str(key.id),
        "{control_id}": str(control),
        "{technology_id}": str(technology.id),
        "{webhook_id}": str(hook.id),
        "{version_number}": "2",  # published by the test for the route that takes it
    }


@pytest.fixture
def coordinator(session: Session) -> Actor:
    # Staff in post long before any example's date: a review or risk assessment is signed by its author,
    # who must be current staff on the day it records.
    return make_actor(session, Role.coordinator, coordinator=True, started_on=date(2015, 1, 5))


@pytest.mark.parametrize(("method", "path", "name"), BODIES, ids=IDS)
def test_first_example_is_accepted(
    method: str,
    path: str,
    name: str,
    client: TestClient,
    session: Session,
    coordinator: Actor,
    integration: Actor,
) -> None:
    if name in NO_EXAMPLE:
        pytest.skip("signed in through the Authorize dialog")
    example = SPEC["components"]["schemas"][name]["examples"][0]
    ids = _world(session)
    body = json.dumps(example)
    for made_up in (GROUP, LEADER, OTHER_STAFF, CHILD, OTHER_CHILD):
        body = body.replace(made_up, ids[made_up])
    data = json.loads(body)
    url = path
    for param, value in ids.items():
        if param.startswith("{"):
            url = url.replace(param, value)
    # A partial push (PATCH) names no external id in its body: it changes the record the path names.
    named = data.get("external_id") or ("CRM-S0100" if path.startswith("/api/v1/staff") else "CRM-P0001")
    url = url.replace("{external_id}", str(named))
    if name == "PasswordChange":
        data["current_password"] = PASSWORD  # the signed-in coordinator's own
    assert "{" not in url, f"no record for a path parameter in {url}"
    # A coordinator reaches every route but the CRM's own (bulk sync), which takes an API key.
    caller = coordinator if Caller.coordinator in EXPECTED[(method, path)] else integration
    # Applying a roster takes its ETag.
    headers = dict(caller.headers)
    if path.endswith("/apply"):
        headers["If-Match"] = client.get(url.removesuffix("/apply"), headers=caller.headers).headers["etag"]
    if "{version_number}" in path:
        # A version published for a later day, the only kind that can be withdrawn.
        session.add(
            PolicyVersion(
                number=2,
                effective_on=clock.today() + timedelta(days=30),
                published_on=clock.today(),
                text="Later.",
                published_by_label="test",
            )
        )
        session.commit()
    r = client.request(method, url, json=data, headers=headers)
    assert 200 <= r.status_code < 300, (r.status_code, r.text)
    # Bulk sync answers 200 with a result per record: a rejected record is the example failing too.
    rejected = [
        x for x in r.json().get("results", []) if isinstance(x, dict) and x.get("status") == "rejected"
    ]
    assert not rejected, rejected
