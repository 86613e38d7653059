"""A reason (or an outcome) made only of spaces is no reason: every input model's reason field strips its text
and refuses what is left blank with a 422 naming the field (api.common.NonBlank)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import SQLModel

import api.main  # noqa: F401  (every domain's models are imported with the app)
from api.common import NOT_BLANK
from api.compliance.models import WaiverCreate
from api.consents.models import ConsentUpsert, ConsentWithdraw
from api.incidents.follow_up_models import NotificationCreate
from api.incidents.models import IncidentUpdate, TransitionCreate
from tests.kit.auth import Actor
from tests.test_incidents import URL, report

BLANK = " \t\n "


def _input_models(cls: type[SQLModel] = SQLModel) -> Iterator[type[SQLModel]]:
    for sub in cls.__subclasses__():
        if sub.model_config.get("extra") == "forbid" and not sub.model_config.get("table"):
            yield sub
        yield from _input_models(sub)


def test_every_reason_a_client_sends_must_not_be_blank() -> None:
    fields = {
        f"{model.__name__}.{name}": NOT_BLANK in info.metadata
        for model in set(_input_models())
        for name, info in model.model_fields.items()
        if "reason" in name
    }
    assert {"TransitionCreate.reason", "ConsentWithdraw.reason"} <= fields.keys()  # the walk finds them
    # MembershipEnd.end_reason is optional free text, not a required reason: not checked yet.
    assert [name for name, checked in fields.items() if not checked] == ["MembershipEnd.end_reason"]


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (IncidentUpdate, {"severity": "high", "reason": BLANK}, "reason"),
        (IncidentUpdate, {"summary": BLANK, "reason": "Triage"}, "summary"),
        (TransitionCreate, {"to_status": "triaged", "reason": BLANK}, "reason"),
        (
            TransitionCreate,
            {
                "to_status": "closed",
                "reason": "Done",
                "outcome": "no_further_action",
                "outcome_summary": BLANK,
            },
            "outcome_summary",
        ),
        (
            NotificationCreate,
            {"participant_id": str(uuid.uuid4()), "not_informed_reason": BLANK},
            "not_informed_reason",
        ),
        (ConsentWithdraw, {"withdrawn_on": "2025-11-10", "reason": BLANK}, "reason"),
        (ConsentUpsert, {"withdrawn_on": "2025-11-10", "withdrawal_reason": BLANK}, "withdrawal_reason"),
        (
            WaiverCreate,
            {"group_id": str(uuid.uuid4()), "rule_id": "GRP-X", "reason": BLANK, "expires_on": "2029-09-01"},
            "reason",
        ),
    ],
)
def test_a_blank_reason_is_refused_naming_the_field(
    model: type[SQLModel], body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(body)
    assert any(e["loc"] == (field,) and e["type"] == "blank" for e in raised.value.errors())


def test_a_reason_is_kept_without_its_surrounding_spaces() -> None:
    assert TransitionCreate.model_validate({"to_status": "triaged", "reason": "  Read  \n"}).reason == "Read"
    assert (
        ConsentWithdraw.model_validate({"withdrawn_on": "2025-11-10"}).reason is None
    )  # optional stays optional


def test_a_headline_correction_with_a_blank_reason_is_422_and_changes_nothing(
    client: TestClient, coordinator: Actor
) -> None:
    iid = report(client, coordinator)["id"]
    r = client.patch(f"{URL}/{iid}", json={"severity": "high", "reason": "   "}, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["reason"]
    got = client.get(f"{URL}/{iid}", headers=coordinator.headers).json()
    assert (got["severity"], got["version"]) == ("medium", 1)
    r = client.post(
        f"{URL}/{iid}/transitions", json={"to_status": "triaged", "reason": "\t"}, headers=coordinator.headers
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["reason"]
