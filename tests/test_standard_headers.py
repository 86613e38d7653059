"""The standard headers (issue 18), walked over every route the app serves rather than a hand list:
every 201 carries a Location that GETs back 200, every list a Link (RFC 8288), and every single-record GET
that answers an ETag answers 304 to an If-None-Match naming it. Run against the demo organisation, so each
route has records to answer with."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, select

from api.auth.models import User
from api.common import Page
from api.consents.models import Consent
from api.controls.models import Control, Technology
from api.demo.seed import seed
from api.groups.models import Group
from api.incidents.models import Incident, IncidentEntry
from api.main import create_app
from api.memberships.models import Membership
from api.participants.models import Participant
from api.policy.versions import PolicyVersion
from api.rosters.models import GroupRoster
from api.staff.models import Staff
from api.standard_headers import links, none_match
from api.webhooks.models import WebhookEndpoint
from tests.kit.auth import Actor
from tests.kit.participants import make_participant
from tests.kit.staff import make_staff

# The record a path parameter names, to fill it from the demo data; a new parameter fails the walk.
RECORD_OF: dict[str, type[SQLModel]] = {
    "staff_id": Staff,
    "participant_id": Participant,
    "group_id": Group,
    "membership_id": Membership,
    "consent_id": Consent,
    "incident_id": Incident,
    "entry_id": IncidentEntry,
    "roster_id": GroupRoster,
    "control_id": Control,
    "technology_id": Technology,
    "webhook_id": WebhookEndpoint,
    "user_id": User,
}
OTHER_VALUES: dict[str, Callable[[Session], Any]] = {
    "version_number": lambda s: s.exec(select(PolicyVersion.number)).first(),
    "code": lambda _: "not_found",
}
# Created records no single-record GET answers yet, so they have no address to give in Location (the
# spec does not declare one). When one gains its GET, this list must lose it.
NO_ADDRESS = {
    ("POST", "/api/v1/api-keys"),
    ("POST", "/api/v1/compliance/waivers"),
    ("POST", "/api/v1/controls/{control_id}/checks"),
    ("POST", "/api/v1/groups/{group_id}/reviews"),
    ("POST", "/api/v1/groups/{group_id}/risk-assessments"),
    ("POST", "/api/v1/identities"),
    ("POST", "/api/v1/incidents/{incident_id}/notifications"),
    ("POST", "/api/v1/incidents/{incident_id}/referrals"),
    ("POST", "/api/v1/staff/{staff_id}/declarations"),
    ("POST", "/api/v1/technologies/{technology_id}/assessments"),
}
PARAM = re.compile(r"{(\w+)}")


def _walk(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "effective_candidates"):  # FastAPI >= 0.16x keeps included routers nested
            yield from _walk(route.effective_candidates())
        elif getattr(route, "methods", None) and hasattr(route, "response_model"):
            yield route


APP = create_app()
ROUTES = [r for r in _walk(list(APP.routes)) if r.path.startswith("/api/")]
SPEC = APP.openapi()


def _is_page(route: Any) -> bool:
    return isinstance(route.response_model, type) and issubclass(route.response_model, Page)


LISTS = sorted(r.path for r in ROUTES if "GET" in r.methods and _is_page(r))
SINGLE_GETS = sorted(
    r.path for r in ROUTES if "GET" in r.methods and r.path.endswith("}") and not _is_page(r)
)
CREATES = sorted((m, r.path) for r in ROUTES if r.status_code == 201 for m in r.methods) + sorted(
    ("PUT", path) for path, ops in SPEC["paths"].items() if "201" in ops.get("put", {}).get("responses", {})
)


@pytest.fixture
def demo(session: Session, coordinator: Actor) -> Actor:
    seed(session)
    return coordinator


def _fill(session: Session, path: str) -> str | None:
    """`path` with each parameter a record of the demo data (the last one chosen first, the others from
    its own fields where it has them: an entry's incident); None where the demo has no such record."""
    names = PARAM.findall(path)
    values: dict[str, Any] = {}
    for name in reversed(names):
        if name in values:
            continue
        if name in OTHER_VALUES:
            values[name] = OTHER_VALUES[name](session)
            continue
        assert name in RECORD_OF, f"{path}: no demo record for {{{name}}}: add it to RECORD_OF"
        model = RECORD_OF[name]
        query = select(model)
        for known, value in values.items():
            if known in model.model_fields and known != name:
                query = query.where(getattr(model, known) == value)
        row = session.exec(query).first()
        if row is None:
            return None
        values[name] = row.id  # type: ignore[attr-defined]
        for other in names:
            if other != name and other not in values and hasattr(row, other):
                values[other] = getattr(row, other)
    return PARAM.sub(lambda m: str(values[m[1]]), path)


def test_the_link_header_by_its_rules() -> None:
    both = links("/api/v1/staff", "q=ann&limit=2&offset=2", total=5, limit=2, offset=2)
    assert both == (
        '</api/v1/staff?q=ann&limit=2&offset=0>; rel="first", </api/v1/staff?q=ann&limit=2&offset=0>; '
        'rel="prev", </api/v1/staff?q=ann&limit=2&offset=4>; rel="next", '
        '</api/v1/staff?q=ann&limit=2&offset=4>; rel="last"'
    )
    empty = links("/api/v1/staff", "", total=0, limit=50, offset=0)
    assert (
        empty
        == '</api/v1/staff?limit=50&offset=0>; rel="first", </api/v1/staff?limit=50&offset=0>; rel="last"'
    )


def test_if_none_match_compares_weakly() -> None:
    assert none_match('"3"', '"3"')
    assert none_match('W/"3"', '"3"')
    assert none_match('"1", W/"3"', '"3"')
    assert none_match("*", '"3"')
    assert not none_match('"4"', '"3"')
    assert not none_match("3", '"3"')


def test_every_list_has_link(client: TestClient, session: Session, demo: Actor) -> None:
    assert LISTS, "the walk found no list"
    checked = 0
    for path in LISTS:
        url = _fill(session, path)
        if url is None:
            continue
        r = client.get(url, params={"limit": 1}, headers=demo.headers)
        assert r.status_code == 200, (path, r.text)
        link = r.headers.get("link")
        assert link is not None, path
        rels = {rel: target for target, rel in re.findall(r'<([^>]*)>; rel="(\w+)"', link)}
        assert {"first", "last"} <= set(rels), (path, link)
        assert "prev" not in rels, (path, link)
        assert ("next" in rels) == (r.json()["total"] > 1), (path, link)
        if "next" in rels:
            following = client.get(rels["next"], headers=demo.headers)
            assert following.status_code == 200, (path, following.text)
            assert following.json()["offset"] == 1
            assert 'rel="prev"' in following.headers["link"]
        checked += 1
    assert checked >= len(LISTS) * 3 // 4, "the demo data left most lists unchecked"


def test_every_single_get_with_an_etag_answers_304(client: TestClient, session: Session, demo: Actor) -> None:
    # The demo registers no webhook: register one, so its GET is checked too.
    webhook = _example(session, "POST", "/api/v1/webhooks")
    assert client.post("/api/v1/webhooks", json=webhook, headers=demo.headers).status_code == 201
    with_etag = 0
    for path in SINGLE_GETS:
        declared = SPEC["paths"][path]["get"]["responses"]["200"].get("headers", {})
        url = _fill(session, path)
        if url is None:
            assert "ETag" not in declared, f"{path}: the demo data has no record to check it with"
            continue
        r = client.get(url, headers=demo.headers)
        etag = r.headers.get("etag")
        if "ETag" in declared:
            assert r.status_code == 200, (path, r.status_code)
            assert etag is not None, path
        if r.status_code != 200 or etag is None:
            continue
        for sent in (etag, f"W/{etag}", f'"0", {etag}'):
            again = client.get(url, headers={**demo.headers, "If-None-Match": sent})
            assert again.status_code == 304, (path, sent, again.status_code)
            assert again.content == b""
            assert again.headers["etag"] == etag
        stale = client.get(url, headers={**demo.headers, "If-None-Match": '"0"'})
        assert stale.status_code == 200, path
        assert stale.json(), path
        with_etag += 1
    assert with_etag >= 10


def _unique(body: Any, tag: str) -> Any:
    """The spec's example made new: its unique fields (emails, external ids, names) made unused."""
    if isinstance(body, dict):
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key == "email" and isinstance(value, str):
                out[key] = f"{tag}.{value}"
            elif key in ("external_id", "name", "evidence_ref") and isinstance(value, str):
                out[key] = f"{value}-{tag}"
            else:
                out[key] = _unique(value, tag)
        return out
    if isinstance(body, list):
        return [_unique(v, tag) for v in body]
    return body


def _example(session: Session, method: str, path: str) -> Any:
    operation = SPEC["paths"][path][method.lower()]
    content = operation["requestBody"]["content"]["application/json"]["schema"]
    name = content["$ref"].rsplit("/", 1)[-1]
    body = _unique(SPEC["components"]["schemas"][name]["examples"][0], uuid.uuid4().hex[:8])
    # The example's people are new ones (so a membership or an account does not clash with the demo's),
    # its other records the demo's.
    fresh = {"staff_id": _new_staff(session), "participant_id": _new_participant(session)}
    for key in list(body):
        if key in fresh:
            body[key] = str(fresh[key])
        elif key.endswith("_id") and key in RECORD_OF:
            body[key] = str(session.exec(select(RECORD_OF[key])).first().id)  # type: ignore[union-attr]
        elif key.endswith("_ids") and f"{key[:-1]}" in RECORD_OF:
            body[key] = [str(session.exec(select(RECORD_OF[key[:-1]])).first().id)]  # type: ignore[union-attr]
    return body


def _new_staff(session: Session) -> uuid.UUID:
    return make_staff(session).id


def _new_participant(session: Session) -> uuid.UUID:
    return make_participant(session).id


@pytest.mark.parametrize(("method", "path"), [c for c in CREATES if c not in NO_ADDRESS])
def test_every_201_has_a_location_that_answers(
    client: TestClient, session: Session, demo: Actor, method: str, path: str
) -> None:
    assert "Location" in SPEC["paths"][path][method.lower()]["responses"]["201"].get("headers", {})
    body = _example(session, method, path)
    url = _fill(session, path.replace("{external_id}", str(body.get("external_id"))))
    assert url is not None
    r = client.request(method, url, json=body, headers=demo.headers)
    assert r.status_code == 201, (path, r.text)
    location = r.headers.get("location")
    assert location is not None, (path, r.text)
    got = client.get(location, headers=demo.headers)
    assert got.status_code == 200, (location, got.text)
    if "id" in r.json():
        assert location.endswith(f"/{r.json()['id']}")
        assert got.json()["id"] == r.json()["id"]


def test_the_201s_without_an_address_are_those_listed() -> None:
    assert set(CREATES) >= NO_ADDRESS
    for method, path in NO_ADDRESS:
        assert "Location" not in SPEC["paths"][path][method.lower()]["responses"]["201"].get("headers", {})


def test_lists_declare_link_in_the_spec(app: FastAPI) -> None:
    for path in LISTS:
        assert "Link" in SPEC["paths"][path]["get"]["responses"]["200"].get("headers", {}), path
