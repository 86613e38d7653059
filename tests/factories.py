"""Moved to tests/kit: kept for the tests that still import the old names from here until they move to the
kit. Add nothing here; new helpers go in the kit (see tests/kit/__init__.py)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api.groups.models import Group
from tests.kit.auth import Actor, make_actor, make_api_key, signed_in_as, token_headers
from tests.kit.clock import TODAY
from tests.kit.compliance import bulk_groups as compliance_bulk_groups
from tests.kit.compliance import group_fields
from tests.kit.compliance import make_compliant_group as compliance_compliant_group
from tests.kit.declarations import make_declaration as compliance_declaration
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.memberships import make_membership as compliance_member
from tests.kit.participants import make_participant
from tests.kit.staff import make_staff


def compliance_group(session: Session, **overrides: Any) -> Group:
    """`make_group` as the compliance tests had it: sharing images, ages 11 to 25, started 60 days ago."""
    return make_group(session, **group_fields(**overrides))


__all__ = [
    "TODAY",
    "Actor",
    "compliance_bulk_groups",
    "compliance_compliant_group",
    "compliance_declaration",
    "compliance_group",
    "compliance_member",
    "make_actor",
    "make_api_key",
    "make_group",
    "make_membership",
    "make_participant",
    "make_staff",
    "signed_in_as",
    "token_headers",
]
