"""Staff declarations (api/declarations)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from api import clock
from api.declarations.models import StaffDeclaration
from api.policy.versions import PolicyVersion
from api.staff.models import Staff
from tests.kit.records import add, recorded

# A declaration's answers with every statement held.
EVERY_STATEMENT_HELD: dict[str, bool] = {
    "read_policy": True,
    "profile_private": True,
    "no_young_friends": True,
    "no_personal_messages": True,
    "no_personal_follows": True,
}


def make_declaration(session: Session, staff: Staff, **overrides: Any) -> StaffDeclaration:
    """A declaration for the latest published policy version, every statement true, made 30 days ago."""
    latest = session.exec(select(PolicyVersion).order_by(col(PolicyVersion.number).desc())).first()
    assert latest is not None
    values: dict[str, Any] = {
        "staff_id": staff.id,
        "policy_version_id": latest.id,
        "policy_version": latest.number,
        "declared_on": clock.today() - timedelta(days=30),
        **EVERY_STATEMENT_HELD,
        "recorded_by_label": "test",
    }
    return add(session, StaffDeclaration, recorded({**values, **overrides}, "declared_on"), {})
