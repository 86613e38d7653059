"""Every request body's example, sent as it stands to the demo organisation `make run` loads, is answered 2xx
(issue 18): Swagger UI's "Try it out" starts from the example and the operation's parameter examples, and a
newcomer trying it against the demo should see it work.

The demo is loaded once, today, into the test run's throwaway database (tests/kit/databases.py) inside a
transaction; each operation runs in a savepoint rolled back afterwards, so each starts from the demo as
loaded (creating a unique record, ending a membership: each example works once on fresh demo data, as on a
fresh `make run`). The caller is the demo coordinator, signed in with the demo password; the CRM's routes
(bulk sync) take an API key. Nothing in an example is swapped: its ids are the demo's (api/demo/ids.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlmodel import Session, select

from api import clock
from api.controls.models import Control
from api.demo import DEMO_ACCOUNTS, ids, seed
from api.main import create_app
from tests.kit.apps import use_session
from tests.kit.auth import make_api_key
from tests.matrix import EXPECTED
from tests.matrix.roles import Caller

SPEC = create_app().openapi()
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}
# Filled by Swagger UI's Authorize dialog, not by "Try it out".
NO_EXAMPLE = {"Body_sign_in"}
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _operations() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, schema name, operation) of every operation whose JSON body has an example."""
    out = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS or "requestBody" not in op:
                continue
            media = op["requestBody"]["content"].get("application/json")
            if media is None or "$ref" not in media["schema"]:
                continue
            name = media["schema"]["$ref"].rsplit("/", 1)[-1]
            if name not in NO_EXAMPLE:
                out.append((method.upper(), path, name, op))
    return out


OPERATIONS = _operations()


def _example(name: str, op: dict[str, Any]) -> Any:
    """The body Swagger UI fills in: the operation's first named example, else the schema's first."""
    media = op["requestBody"]["content"]["application/json"]
    named = media.get("examples")
    if named:
        return next(iter(named.values()))["value"]
    return SPEC["components"]["schemas"][name]["examples"][0]


def _url(path: str, op: dict[str, Any], session: Session) -> str:
    """`path` with each path parameter replaced by the operation's example for it. A control has none: the
    controls are made by a migration, with ids of their own in each database, so the test finds the one a
    caller would pick from GET /controls (CTL-SECURITY-REVIEW)."""
    for parameter in op.get("parameters", []):
        if parameter["in"] != "path":
            continue
        if parameter["name"] == "control_id":
            control = session.exec(select(Control.id).where(Control.code == "CTL-SECURITY-REVIEW")).one()
            path = path.replace("{control_id}", str(control))
            continue
        assert "example" in parameter, f"{path}: no example for {parameter['name']}"
        path = path.replace("{" + parameter["name"] + "}", str(parameter["example"]))
    return path


@pytest.fixture(scope="module")
def demo(engine: Engine) -> Iterator[Connection]:
    """A connection holding the demo, loaded today, in a transaction rolled back after the module."""
    conn = engine.connect()
    outer = conn.begin()
    with Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False) as session:
        seed(session)
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def on_demo(demo: Connection) -> Iterator[tuple[TestClient, Session]]:
    """A client on the demo data; whatever the test writes is rolled back afterwards."""
    savepoint = demo.begin_nested()
    session = Session(bind=demo, join_transaction_mode="create_savepoint", expire_on_commit=False)
    application = create_app()
    use_session(application, session)
    with TestClient(application) as client:
        yield client, session
    session.close()
    savepoint.rollback()


def _coordinator(client: TestClient) -> dict[str, str]:
    _, email, password = DEMO_ACCOUNTS[0]
    r = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_operations_were_found() -> None:
    # A walk that found nothing would pass every check below.
    assert len(OPERATIONS) >= 45


def test_every_example_id_is_a_demo_record() -> None:
    known = {str(v) for v in ids.ALL.values()}
    found = set(UUID_TEXT.findall(json.dumps(SPEC)))
    # Problem examples and the like carry no ids; every id anywhere in the spec is one of the demo's.
    assert found <= known, sorted(found - known)


def test_the_demo_has_every_documented_record(on_demo: tuple[TestClient, Session]) -> None:
    client, _ = on_demo
    headers = _coordinator(client)
    nadia = client.get(f"/api/v1/staff/{ids.NADIA_OKAFOR}", headers=headers)
    assert nadia.status_code == 200
    assert nadia.json()["full_name"] == "Nadia Okafor"
    for op, url in (
        ("group", f"/api/v1/groups/{ids.YOUNG_PRODUCERS}"),
        ("group", f"/api/v1/groups/{ids.BEAT_LAB}"),
        ("staff", f"/api/v1/staff/{ids.TOM_HALLETT}"),
        ("staff", f"/api/v1/staff/{ids.CALLUM_REID}"),
        ("participant", f"/api/v1/participants/{ids.LENA_JESSOP}"),
        ("participant", f"/api/v1/participants/{ids.JAYDEN_CARROW}"),
        ("membership", f"/api/v1/memberships/{ids.LENA_IN_YOUNG_PRODUCERS}"),
        ("consent", f"/api/v1/consents/{ids.REUBEN_IMAGES}"),
        ("incident", f"/api/v1/incidents/{ids.SHOWCASE_PHOTO_INCIDENT}"),
        ("user", f"/api/v1/users/{ids.TOM_HALLETT_ACCOUNT}"),
        ("roster", f"/api/v1/groups/{ids.BEAT_LAB}/rosters/{ids.BEAT_LAB_ROSTER}"),
        ("technology", f"/api/v1/technologies/{ids.SOUNDTRAP}"),
    ):
        assert client.get(url, headers=headers).status_code == 200, (op, url)
    keys = client.get("/api/v1/api-keys", headers=headers).json()["items"]
    assert str(ids.CRM_SYNC_KEY) in {k["id"] for k in keys}
    for person in (ids.VIOLET_WRAGG, ids.YUSUF_ELLISON):
        assert client.get(f"/api/v1/participants/{person}", headers=headers).status_code == 200
    identities = client.get(f"/api/v1/identities?staff_id={ids.PRIYA_RAMAN}", headers=headers).json()
    assert str(ids.PRIYA_DISCORD_HANDLE) in {i["id"] for i in identities["items"]}
    roster = client.get(f"/api/v1/groups/{ids.BEAT_LAB}/rosters/{ids.BEAT_LAB_ROSTER}", headers=headers)
    assert str(ids.BEAT_LAB_UNKNOWN_ENTRY) in {e["id"] for e in roster.json()["entries"]}


@pytest.mark.parametrize(
    ("method", "path", "name", "op"), OPERATIONS, ids=[f"{m} {p}" for m, p, _, _ in OPERATIONS]
)
def test_example_succeeds_on_the_demo(
    method: str, path: str, name: str, op: dict[str, Any], on_demo: tuple[TestClient, Session]
) -> None:
    client, session = on_demo
    example = _example(name, op)
    url = _url(path, op, session)
    if Caller.coordinator in EXPECTED[(method, path)]:
        headers = _coordinator(client)
    else:  # the CRM's own routes (bulk sync) take an API key
        headers = dict(make_api_key(session).headers)
    if path.endswith("/apply"):
        # A list is applied once every entry not matched for certain has an answer: answer them first, as
        # the caller would with the resolve example (each unknown handle removed, each probable confirmed).
        roster = url.removesuffix("/apply")
        for entry in client.get(roster, headers=headers).json()["entries"]:
            if entry["match"] == "certain" or entry["resolution"] is not None:
                continue
            answer: dict[str, Any] = {"resolution": "confirmed"}
            if entry["match"] == "unknown":
                answer = {"resolution": "removed", "removed_on": clock.today().isoformat()}
            r = client.post(f"{roster}/entries/{entry['id']}/resolve", json=answer, headers=headers)
            assert r.status_code == 200, r.text
        # Applying a roster takes the ETag it was read with, as Swagger UI's caller would copy it.
        headers["If-Match"] = client.get(roster, headers=headers).headers["etag"]
    if "{version_number}" in path:
        # Only a version published for a later day can be withdrawn: publish the publish example first.
        publish = SPEC["components"]["schemas"]["PolicyVersionCreate"]["examples"][0]
        r = client.post("/api/v1/policy/versions", json=publish, headers=headers)
        assert r.status_code == 201, r.text
    r = client.request(method, url, json=example, headers=headers)
    assert 200 <= r.status_code < 300, (r.status_code, r.text)
    # Bulk sync answers 200 with a result per record: a rejected record is the example failing too.
    results = r.json().get("results", []) if isinstance(r.json(), dict) else []
    rejected = [x for x in results if isinstance(x, dict) and x.get("status") == "rejected"]
    assert not rejected, rejected


def _bodiless() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation without a JSON body that takes a parameter: "Try it out"
    sends it with the parameters' examples alone."""
    out = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS or "requestBody" in op:
                continue
            if any(p["in"] in ("path", "query") for p in op.get("parameters", [])):
                out.append((method.upper(), path, op))
    return out


BODILESS = _bodiless()
# Operations whose example cannot succeed on a fresh demo, and why. Every other one must.
NOT_ON_A_FRESH_DEMO = {
    # The demo has no waiver (one would change its compliance figures, which other tests read).
    ("POST", "/api/v1/compliance/waivers/{waiver_id}/revoke"),
    # Only a disabled endpoint can be enabled; the demo's is enabled (the README disables it first).
    ("POST", "/api/v1/webhooks/{webhook_id}/enable"),
}


def _query(op: dict[str, Any]) -> dict[str, str]:
    """The query parameters "Try it out" fills in: those with an example."""
    out = {}
    for p in op.get("parameters", []):
        if p["in"] != "query":
            continue
        if "example" in p:
            out[p["name"]] = str(p["example"])
        elif "examples" in p:
            out[p["name"]] = str(next(iter(p["examples"].values()))["value"])
    return out


def test_bodiless_operations_were_found() -> None:
    paths = {(m, p) for m, p, _ in BODILESS}
    assert ("POST", "/api/v1/identities/{identity_id}/verify") in paths
    assert ("GET", "/api/v1/participants/{participant_id}/consent-check") in paths
    assert paths >= NOT_ON_A_FRESH_DEMO


@pytest.mark.parametrize(("method", "path", "op"), BODILESS, ids=[f"{m} {p}" for m, p, _ in BODILESS])
def test_parameter_examples_succeed_on_the_demo(
    method: str, path: str, op: dict[str, Any], on_demo: tuple[TestClient, Session]
) -> None:
    if (method, path) in NOT_ON_A_FRESH_DEMO:
        pytest.skip("cannot succeed on a fresh demo: see NOT_ON_A_FRESH_DEMO")
    client, session = on_demo
    url = _url(path, op, session)
    headers = _coordinator(client)
    if Caller.coordinator not in EXPECTED[(method, path)]:
        headers = dict(make_api_key(session).headers)
    r = client.request(method, url, params=_query(op), headers=headers)
    assert 200 <= r.status_code < 300, (r.status_code, r.text)
