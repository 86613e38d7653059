"""A client generated from the committed spec (openapi/openapi.json) by openapi-python-client works against
a live server: it authenticates with an API key, pushes a batch and reads the records back, then signs in as
a coordinator and reads the compliance of the group the batch changed; and its compliance models are typed
(a finding's outcome, a status, a severity are enums; the counts an object with a field each). Offline: the
generator runs from the development tools, with nothing fetched."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from enum import Enum
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.auth.roles import Role
from api.groups.models import Visibility
from api.main import create_app
from api.memberships.models import MemberRole
from tests.kit.auth import PASSWORD, Actor, make_actor, make_api_key
from tests.kit.clock import TODAY
from tests.kit.compliance import make_compliant_group
from tests.kit.declarations import make_declaration
from tests.kit.memberships import make_membership
from tests.kit.servers import live_app
from tests.kit.staff import make_staff

VENV_BIN = Path(sys.executable).parent
SPEC_FILE = Path(__file__).parent.parent / "openapi" / "openapi.json"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("client")
    spec = root / "openapi.json"
    # The committed spec, what integrators generate from (tests/test_openapi.py keeps it the app's own).
    spec.write_text(SPEC_FILE.read_text(encoding="utf-8"))
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(root / "esafety_client"),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("esafety_client")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("esafety_client")]:
            del sys.modules[name]


def test_round_trip_with_an_api_key(generated: ModuleType) -> None:
    client_mod = importlib.import_module("esafety_client.client")
    sync_api = importlib.import_module("esafety_client.api.sync.sync_staff")
    list_api = importlib.import_module("esafety_client.api.staff.list_staff")
    sign_in_api = importlib.import_module("esafety_client.api.auth.sign_in")
    compliance_api = importlib.import_module("esafety_client.api.compliance.get_group_compliance")
    models = importlib.import_module("esafety_client.models")

    with live_app() as (base, engine):
        with Session(engine) as session:
            key = make_api_key(session).headers["X-API-Key"]
            coordinator = make_actor(session, Role.coordinator, coordinator=True)
            assert coordinator.staff is not None
            assert coordinator.user is not None
            coordinator_email = coordinator.user.email
            group = make_compliant_group(session, coordinator.staff)
            group_id = group.id
            admin = make_staff(
                session,
                external_id="crm-9003",
                full_name="Ravi Mehta",
                email="ravi.mehta@moremusic.org.uk",
                started_on=TODAY.replace(day=1) - timedelta(days=400),
                code_of_conduct_signed_on=TODAY - timedelta(days=300),
                esafety_training_completed_on=TODAY - timedelta(days=100),
                uses_social_media_for_work=True,
            )
            make_declaration(session, admin)  # so the group is compliant before the push
            make_membership(session, group, staff=admin, role=MemberRole.admin)
            departed = {
                "external_id": "crm-9003",
                "full_name": admin.full_name,
                "email": admin.email,
                "employment_type": str(admin.employment_type),
                "started_on": str(admin.started_on),
                "code_of_conduct_signed_on": str(admin.code_of_conduct_signed_on),
                "esafety_training_completed_on": str(admin.esafety_training_completed_on),
                "uses_social_media_for_work": True,
                "left_on": str(TODAY),
            }
        client = client_mod.AuthenticatedClient(
            base_url=base, token=key, prefix="", auth_header_name="X-API-Key", raise_on_unexpected_status=True
        )
        records = [
            {
                "external_id": "crm-9001",
                "full_name": "Lena Brook",
                "email": "lena.brook@moremusic.org.uk",
                "employment_type": "sessional",
                "started_on": "2025-09-01",
            },
            {
                "external_id": "crm-9002",
                "full_name": "Bad Record",
                "email": "nope",
                "employment_type": "sessional",
                "started_on": "2025-09-01",
            },
            departed,
        ]
        # Each record is typed (a StaffSyncRecord), so a client builds it field by field or from a dict.
        body = models.StaffSyncRequest(records=[models.StaffSyncRecord.from_dict(r) for r in records])
        pushed = sync_api.sync_detailed(client=client, body=body)
        assert pushed.status_code == 200
        statuses = [r.status.value for r in pushed.parsed.results]
        assert statuses == ["created", "rejected", "updated"]
        # The counts and the mode are typed too, not a free dict and a string.
        assert (pushed.parsed.counts.created, pushed.parsed.counts.rejected) == (1, 1)
        assert pushed.parsed.mode == models.SyncMode.REPLACE
        assert pushed.parsed.results[1].errors[0].field == "email"
        [change] = pushed.parsed.groups_changed
        assert (change.group_id, change.before.value, change.after.value) == (
            group_id,
            "compliant",
            "non_compliant",
        )

        page = list_api.sync(client=client, external_id="crm-9001")
        assert page.total == 1
        assert page.items[0].full_name == "Lena Brook"

        anonymous = client_mod.Client(base_url=base)
        assert list_api.sync_detailed(client=anonymous).status_code == 401

        form = models.BodySignIn(username=coordinator_email, password=PASSWORD)
        signed_in = sign_in_api.sync(client=anonymous, body=form)
        as_coordinator = client_mod.AuthenticatedClient(
            base_url=base, token=signed_in.access_token, raise_on_unexpected_status=True
        )
        report = compliance_api.sync_detailed(client=as_coordinator, group_id=group_id)
        assert report.status_code == 200
        assert report.parsed.status == "non_compliant"
        assert report.parsed.group_id == group_id


def test_operation_ids_are_unique_so_client_names_are() -> None:
    spec = create_app().openapi()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_a_generated_client_reads_a_finding_s_outcome_as_an_enum(
    generated: ModuleType, client: TestClient, coordinator: Actor, session: Session
) -> None:
    models = importlib.import_module("esafety_client.models")
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff, visibility=Visibility.public)
    r = client.get(f"/api/v1/groups/{group.id}/compliance", headers=coordinator.headers)
    assert r.status_code == 200

    report = models.GroupCompliancePublic.from_dict(r.json())
    finding = next(f for f in report.findings if f.rule_id == "GRP-VISIBILITY-CLOSED")
    assert isinstance(finding.outcome, Enum)
    assert finding.outcome is models.Outcome.FAIL
    assert isinstance(finding.severity, models.Severity)
    assert isinstance(report.status, models.Status)
    assert report.status is models.Status.NON_COMPLIANT
    assert isinstance(finding.evidence[0].type_, models.EvidenceType)
    assert report.counts.fail >= 1
    assert (
        report.counts.pass_ + report.counts.fail + report.counts.warn + report.counts.not_applicable
        == len(report.findings)
    )
    # Typed both ways: written back, the generated model gives the answer's JSON.
    assert report.to_dict() == r.json()
