"""The rules issue 15 added, over hand-built snapshots: named pass and fail cases for each."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from api.compliance.rules import grp_messages_seen_by_all as seen_by_all
from api.compliance.rules import grp_staff_declarations as group_declarations
from api.compliance.rules import grp_young_people_code_of_conduct as young_code
from api.compliance.rules import org_physical_security as physical_security
from api.compliance.rules import org_policy_displayed as policy_displayed
from api.compliance.rules import org_security_review as security_review
from api.compliance.rules import org_technology_assessed as technology_assessed
from api.compliance.rules import stf_social_media_declaration as declaration_rule
from api.compliance.rules.base import Outcome
from api.compliance.snapshot import (
    CheckFacts,
    ControlFacts,
    GroupSnapshot,
    MemberFacts,
    OrgSnapshot,
    PolicyFacts,
    StaffFacts,
    TechnologyAssessmentFacts,
    TechnologyFacts,
    Thresholds,
)
from api.consents.logic import ConsentFact
from tests.compliance import builders as b
from tests.compliance.builders import AS_OF, days

PASS, FAIL, WARN, NA = Outcome.pass_, Outcome.fail, Outcome.warn, Outcome.not_applicable


def only_staff() -> tuple[MemberFacts, ...]:
    return (b.member(b.COORDINATOR, "admin"), b.member(b.ADMIN_B, "admin"))


# GRP-MESSAGES-SEEN-BY-ALL


def test_messages_seen_by_all_passes_for_a_group_every_member_reads() -> None:
    result = seen_by_all.check(b.group_snapshot())
    assert result.outcome is PASS, result.message


def test_messages_seen_by_all_fails_for_direct_messages_with_young_people() -> None:
    snapshot = b.with_group(b.group_snapshot(), messages_seen_by_all=False, platform="whatsapp")
    result = seen_by_all.check(snapshot)
    assert result.outcome is FAIL
    assert [e.type for e in result.evidence] == ["group"]
    assert "Young Person" not in result.message


@pytest.mark.parametrize(
    ("change", "why"),
    [({"platform": "email_list"}, "email"), ({}, "young people")],
    ids=["an email list", "no young people"],
)
def test_messages_seen_by_all_does_not_apply(change: dict[str, str], why: str) -> None:
    snapshot = b.group_snapshot(members=only_staff()) if not change else b.group_snapshot()
    snapshot = b.with_group(snapshot, messages_seen_by_all=False, **change)
    result = seen_by_all.check(snapshot)
    assert result.outcome is NA
    assert why in result.message


# GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT


def _with_consents(*consents: ConsentFact) -> GroupSnapshot:
    person = b.participant(consents=consents)
    return b.group_snapshot(members=(*only_staff(), b.member(person)))


def test_young_people_code_of_conduct_passes_with_their_own_agreement_at_any_age() -> None:
    young = b.participant(date_of_birth=date(2016, 1, 1))  # ten: too young to consent, not to agree
    snapshot = b.group_snapshot(members=(*only_staff(), b.member(young)))
    assert young_code.check(snapshot).outcome is PASS


@pytest.mark.parametrize(
    "consent",
    [
        None,
        b.consent("code_of_conduct", given_by="parent_carer"),
        b.consent("code_of_conduct", given_by="participant", withdrawn_on=AS_OF - days(1)),
        b.consent("code_of_conduct", given_by="participant", given_on=AS_OF + days(1)),
    ],
    ids=["never agreed", "a carer agreed for them", "withdrawn", "not yet agreed on as_of"],
)
def test_young_people_code_of_conduct_fails(consent: ConsentFact | None) -> None:
    result = young_code.check(_with_consents(*([consent] if consent else [])))
    assert result.outcome is FAIL
    assert [e.type for e in result.evidence] == ["participant"]


def test_young_people_code_of_conduct_does_not_apply_without_young_people() -> None:
    assert young_code.check(b.group_snapshot(members=only_staff())).outcome is NA


# STF-SOCIAL-MEDIA-DECLARATION and GRP-STAFF-DECLARATIONS (one reading of a declaration, api/compliance/
# declarations.py, shared by both)

LATEST_IS_2 = PolicyFacts(2, AS_OF - days(10), {}, 2)


def test_social_media_declaration_passes_when_current_for_the_latest_version() -> None:
    result = declaration_rule.check(b.staff_snapshot())
    assert result.outcome is PASS, result.message


@pytest.mark.parametrize(
    ("person", "outcome", "words"),
    [
        (b.staff(declaration=None), FAIL, "No current declaration"),
        (b.staff(declaration=b.declaration(no_young_friends=False)), FAIL, "no young or vulnerable people"),
        (b.staff(declaration=b.declaration(declared_on=AS_OF + days(1))), FAIL, "No current declaration"),
        # Loaded for a later day (a forecast, a backfilled history): the one in force on the day counts.
        (
            b.staff(
                declarations=(
                    b.declaration(declared_on=AS_OF - days(10)),
                    b.declaration(declared_on=AS_OF + days(1), no_young_friends=False),
                )
            ),
            PASS,
            "Current declaration: declared on",
        ),
        (b.staff(declaration=b.declaration(declared_on=AS_OF - days(366))), WARN, "more than 365 days"),
    ],
    ids=[
        "never declared",
        "declared a statement untrue",
        "declared after as_of",
        "an earlier one in force on as_of",
        "too old",
    ],
)
def test_social_media_declaration_on_as_of(person: StaffFacts, outcome: Outcome, words: str) -> None:
    result = declaration_rule.check(b.staff_snapshot(person))
    assert result.outcome is outcome
    assert words in result.message


def test_social_media_declaration_is_due_when_a_newer_version_is_in_force() -> None:
    result = declaration_rule.check(b.staff_snapshot(policy=LATEST_IS_2))
    assert result.outcome is WARN
    assert "version 2 is in force since" in result.message
    fresh = b.staff(declaration=b.declaration(policy_version=2))
    assert declaration_rule.check(b.staff_snapshot(fresh, policy=LATEST_IS_2)).outcome is PASS


def test_social_media_declaration_is_not_due_while_a_newer_version_is_only_published() -> None:
    # Version 2 published (latest_published 2) but version 1 still in force: nothing is due yet, and a
    # declaration made early for version 2 counts.
    upcoming = PolicyFacts(1, AS_OF - days(100), {}, 2)
    assert declaration_rule.check(b.staff_snapshot(policy=upcoming)).outcome is PASS
    early = b.staff(declaration=b.declaration(policy_version=2))
    assert declaration_rule.check(b.staff_snapshot(early, policy=upcoming)).outcome is PASS


def test_social_media_declaration_does_not_apply_after_leaving() -> None:
    gone = b.staff(left_on=AS_OF - days(1))
    assert declaration_rule.check(b.staff_snapshot(gone)).outcome is NA


def test_staff_declarations_pass_when_every_member_of_staff_has_one() -> None:
    assert group_declarations.check(b.group_snapshot()).outcome is PASS


def test_staff_declarations_fail_for_a_member_of_staff_without_one() -> None:
    silent = b.staff(full_name="Sid Silent", declaration=None)
    snapshot = b.group_snapshot(members=(*only_staff(), b.member(silent), b.member(b.participant())))
    result = group_declarations.check(snapshot)
    assert result.outcome is FAIL
    assert [e.label for e in result.evidence] == ["Sid Silent"]


def test_staff_declarations_warn_when_due_after_a_new_version() -> None:
    result = group_declarations.check(b.group_snapshot(policy=LATEST_IS_2))
    assert result.outcome is WARN
    assert len(result.evidence) == 2


# ORG-SECURITY-REVIEW, ORG-PHYSICAL-SECURITY, ORG-POLICY-DISPLAYED (one reading of a control,
# api/compliance/controls.py) and ORG-TECHNOLOGY-ASSESSED

OWNER = b.staff(full_name="Olu Owner")


def control(code: str = "CTL-SECURITY-REVIEW", **kw: Any) -> ControlFacts:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "code": code,
        "name": "Information systems security review",
        "owner": OWNER,
        "cadence_days": 180,
        "warn_within_days": 14,
        "checks": (CheckFacts(uuid.uuid4(), AS_OF - days(30), False, False),),
    }
    return ControlFacts(**(values | kw))


def org(*controls: ControlFacts, technologies: tuple[TechnologyFacts, ...] = ()) -> OrgSnapshot:
    return OrgSnapshot(AS_OF, Thresholds(), controls=controls, technologies=technologies)


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (security_review, "CTL-SECURITY-REVIEW"),
        (physical_security, "CTL-PHYSICAL-SECURITY"),
        (policy_displayed, "CTL-POLICY-DISPLAYED"),
    ],
)
def test_a_control_rule_passes_when_checked_on_time_and_fails_when_missing(rule: Any, code: str) -> None:
    assert rule.check(org(control(code))).outcome is PASS
    assert rule.check(org(control("CTL-SOMETHING-ELSE"))).outcome is FAIL


@pytest.mark.parametrize(
    ("changes", "outcome", "words"),
    [
        ({"owner": None}, FAIL, "no current member of staff"),
        ({"owner": b.staff(left_on=AS_OF - days(1))}, FAIL, "no current member of staff"),
        ({"checks": ()}, FAIL, "never been checked"),
        ({"checks": (CheckFacts(uuid.uuid4(), AS_OF - days(181), False, False),)}, FAIL, "Overdue since"),
        ({"checks": (CheckFacts(uuid.uuid4(), AS_OF - days(170), False, False),)}, WARN, "Due on"),
        ({"checks": (CheckFacts(uuid.uuid4(), AS_OF - days(5), True, False),)}, FAIL, "no follow-up"),
        ({"checks": (CheckFacts(uuid.uuid4(), AS_OF - days(5), True, True),)}, PASS, "Last checked"),
        ({"checks": (CheckFacts(uuid.uuid4(), AS_OF + days(1), False, False),)}, FAIL, "never been checked"),
    ],
    ids=[
        "no owner",
        "owner left",
        "never checked",
        "overdue",
        "due within the window",
        "issues without follow-up",
        "issues followed up",
        "checked after as_of",
    ],
)
def test_security_review_outcomes(changes: dict[str, Any], outcome: Outcome, words: str) -> None:
    result = security_review.check(org(control(**changes)))
    assert result.outcome is outcome
    assert words in result.message


def _tech(first_used: int | None, *assessed: tuple[int, str]) -> TechnologyFacts:
    return TechnologyFacts(
        uuid.uuid4(),
        "Padlet",
        AS_OF - days(first_used) if first_used is not None else None,
        None,
        tuple(TechnologyAssessmentFacts(uuid.uuid4(), AS_OF - days(d), decision) for d, decision in assessed),
    )


def test_technology_assessed_passes_when_assessed_and_approved_before_use() -> None:
    result = technology_assessed.check(org(technologies=(_tech(10, (20, "approved")),)))
    assert result.outcome is PASS, result.message


@pytest.mark.parametrize(
    "tech",
    [_tech(10), _tech(10, (5, "approved")), _tech(10, (20, "approved"), (3, "rejected"))],
    ids=["never assessed", "assessed only after first use", "rejected since"],
)
def test_technology_assessed_fails(tech: TechnologyFacts) -> None:
    result = technology_assessed.check(org(technologies=(tech,)))
    assert result.outcome is FAIL
    assert [e.type for e in result.evidence] == ["technology"]


def test_technology_assessed_does_not_apply_to_plans_only() -> None:
    assert technology_assessed.check(org(technologies=(_tech(None),))).outcome is NA
