"""The compliance answers are typed in the spec (issue 18): a status, an outcome, a severity, a scope and a
precision are enums, the counts are objects with a field each, and every answer the routes serve is exactly
what its declared model gives back: validated and written out again, the same bytes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlmodel import Session, select

from api.auth.models import User
from api.auth.roles import Role
from api.common import Severity
from api.compliance import shapes
from api.compliance.coverage import CoveragePublic
from api.compliance.rules.base import Outcome, Subject
from api.compliance.vocabulary import EvidenceType, Status
from api.demo import seed
from api.groups.models import Group
from api.main import create_app
from tests.clock import FixedClock
from tests.kit.auth import signed_in_as
from tests.kit.compliance import make_waiver

SPEC = create_app().openapi()
SCHEMAS = SPEC["components"]["schemas"]


@pytest.fixture
def demo(fixed_clock: FixedClock, session: Session) -> date:
    seed(session)
    return fixed_clock.today


def _routes(session: Session) -> list[tuple[str, type[BaseModel]]]:
    groups = session.exec(select(Group).order_by(Group.name)).all()
    assert groups
    out: list[tuple[str, type[BaseModel]]] = [
        ("/api/v1/compliance", shapes.OrganisationReportPublic),
        ("/api/v1/compliance?as_of=2026-03-01", shapes.OrganisationReportPublic),
        ("/api/v1/compliance/forecast?days=366", shapes.OrganisationForecastPublic),
        ("/api/v1/compliance/history", shapes.OrganisationHistoryPublic),
        ("/api/v1/policy/coverage", CoveragePublic),
    ]
    for g in groups:
        out += [
            (f"/api/v1/groups/{g.id}/compliance", shapes.GroupCompliancePublic),
            (f"/api/v1/groups/{g.id}/compliance/forecast?days=200", shapes.GroupForecastReportPublic),
            (f"/api/v1/groups/{g.id}/compliance/history", shapes.GroupHistoryPublic),
        ]
    return out


def _round_trip(model: type[BaseModel], raw: bytes) -> bytes:
    return model.model_validate_json(raw).model_dump_json(by_alias=True).encode()


@pytest.mark.parametrize("role", [Role.coordinator, Role.trustee])
def test_every_answer_is_its_model_s_round_trip(
    demo: date, session: Session, client: TestClient, role: Role
) -> None:
    # A waiver, so a finding carries one; the trustee's answers are the redacted and month-precise ones.
    beat_lab = session.exec(select(Group).where(Group.name == "Beat Lab")).one()
    make_waiver(session, beat_lab, rule_id="GRP-ADMIN-APPROVAL")
    headers = signed_in_as(session, role)
    user = session.exec(select(User).where(User.role == role)).first()
    assert user is not None
    assert user.staff_id is not None
    routes: list[tuple[str, type[BaseModel]]] = [
        *_routes(session),
        (f"/api/v1/staff/{user.staff_id}/compliance", shapes.StaffCompliancePublic),
    ]
    waived = 0
    seen_outcomes: set[str] = set()
    for url, model in routes:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, (url, r.text)
        assert _round_trip(model, r.content) == r.content, url
        findings = r.json().get("findings", [])
        seen_outcomes |= {f["outcome"] for f in findings}
        waived += sum(f["waiver"] is not None for f in findings)
    # The demo's answers hold every outcome and a waiver, so each was read through the models.
    assert seen_outcomes == {o.value for o in Outcome}
    assert waived == 1


def test_the_catalogue_round_trips(client: TestClient, coordinator: Any) -> None:
    r = client.get("/api/v1/compliance/rules", headers=coordinator.headers)
    assert r.status_code == 200
    rules = [shapes.RulePublic.model_validate(rule) for rule in r.json()]
    assert {rule.scope for rule in rules} == set(Subject)
    assert {rule.severity for rule in rules} == set(Severity)
    assert [rule.model_dump(mode="json", by_alias=True) for rule in rules] == r.json()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref") or next((b["$ref"] for b in schema.get("anyOf", []) if "$ref" in b), None)
    return SCHEMAS[ref.rsplit("/", 1)[-1]] if ref else schema


def _enum_of(model: str, field: str) -> list[str]:
    return list(_resolve(SCHEMAS[model]["properties"][field])["enum"])


def test_status_outcome_severity_and_evidence_are_enums_in_the_spec() -> None:
    assert _enum_of("GroupCompliancePublic", "status") == [s.value for s in Status]
    assert _enum_of("FindingPublic", "outcome") == [o.value for o in Outcome]
    assert _enum_of("FindingPublic", "severity") == [s.value for s in Severity]
    assert _enum_of("EvidencePublic", "type") == [t.value for t in EvidenceType]
    assert _enum_of("RulePublic", "scope") == [s.value for s in Subject]
    counts = _resolve(SCHEMAS["GroupCompliancePublic"]["properties"]["counts"])
    assert list(counts["properties"]) == ["pass", "fail", "warn", "not_applicable", "waived"]
    assert counts["additionalProperties"] is False


def _compliance_answers() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path, item in SPEC["paths"].items():
        if "compliance" not in path and not path.endswith("/coverage"):
            continue
        for method, op in item.items():
            for status, response in op["responses"].items():
                if status.startswith("2") and "application/json" in response.get("content", {}):
                    out.append(
                        (f"{method.upper()} {path}", response["content"]["application/json"]["schema"])
                    )
    return out


# Shapes that are not compliance's: their descriptions are the spec-wide description test's. Walked through
# all the same (a list page's items are a compliance shape).
NOT_COMPLIANCE_S = ("Platform", "Page_")


def _swagger_gaps(schema: dict[str, Any], where: str, seen: set[str], gaps: list[str]) -> None:
    """What Swagger UI would show as a made-up example under `schema`: a free-text `status`, `outcome` or
    `severity` ("string"), or a map without an example of its own ("additionalProp1"); and any field or enum
    value without a description."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            _swagger_gaps(SCHEMAS[name], name, seen, gaps)
        return
    if (
        "enum" in schema
        and not where.startswith(NOT_COMPLIANCE_S)
        and len(schema.get("x-enum-descriptions", [])) != len(schema["enum"])
    ):
        gaps.append(f"{where}: enum values without descriptions")
    free = schema.get("additionalProperties", False) is not False
    if schema.get("type") == "object" and free and not schema.get("examples"):
        gaps.append(f"{where}: a map without an example")
    for name, prop in schema.get("properties", {}).items():
        if not prop.get("description") and not where.startswith(NOT_COMPLIANCE_S):
            gaps.append(f"{where}.{name}: no description")
        if name in ("status", "outcome", "severity", "before", "scope") and "enum" not in _resolve(prop):
            gaps.append(f"{where}.{name}: not an enum")
        _swagger_gaps(prop, f"{where}.{name}", seen, gaps)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _swagger_gaps(schema[key], f"{where}[{key}]", seen, gaps)
    for branch in schema.get("anyOf", []):
        _swagger_gaps(branch, where, seen, gaps)


def test_no_compliance_answer_shows_a_made_up_example_or_an_undescribed_field() -> None:
    answers = _compliance_answers()
    assert len(answers) >= 11
    gaps: list[str] = []
    seen: set[str] = set()
    for where, schema in answers:
        _swagger_gaps(schema, where, seen, gaps)
    assert not gaps, "\n".join(gaps)
    # The check can fail: a free dictionary and a string status are found.
    probe: list[str] = []
    _swagger_gaps(
        {
            "properties": {
                "status": {"type": "string", "description": "x"},
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "x"},
            }
        },
        "probe",
        set(),
        probe,
    )
    assert probe == ["probe.status: not an enum", "probe.counts: a map without an example"]
