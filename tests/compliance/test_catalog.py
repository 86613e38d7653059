"""The catalog: ids are a contract, each cites a sentence of the policy, every finding explains itself."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest

from api.compliance import rules
from api.compliance.engine import evaluate
from api.compliance.rules import ALL_IDS, GROUP_RULES, ORG_RULES, STAFF_RULES
from api.compliance.rules.base import GroupRule, OrgRule, StaffRule
from api.compliance.snapshot import OrgSnapshot, Thresholds
from api.policy.clauses import CLAUSES, normalise
from tests.compliance import builders as b

# The repository keeps a copy of the policy so this check runs anywhere; the shared original, where it is
# present, must still match it.
POLICY = Path(__file__).resolve().parents[2] / "api" / "policy" / "esafety-policy-v1.txt"
SHARED_POLICY = Path("/work/shared/policy/esafety-policy.txt")

# Other systems filter on these: renaming one is a breaking change, so it must fail here first.
CONTRACT_IDS = {
    "GRP-VISIBILITY-CLOSED",
    "GRP-ADMIN-APPROVAL",
    "GRP-TWO-STAFF-ADMINS",
    "GRP-COORDINATOR-MEMBER",
    "GRP-NO-DEPARTED-STAFF",
    "GRP-NO-FORMER-PARTICIPANTS",
    "GRP-AGE-RANGE",
    "GRP-PERIODIC-REVIEW",
    "GRP-RISK-ASSESSED",
    "GRP-STAFF-CODE-OF-CONDUCT",
    "GRP-ESAFETY-AGREEMENT",
    "GRP-IMAGE-CONSENT",
    "GRP-OPEN-SERIOUS-INCIDENT",
    "GRP-STAFF-TRAINING",
    "STF-CODE-OF-CONDUCT",
    "STF-OFFICIAL-EMAIL",
    "STF-TRAINING-CURRENT",
    "STF-NO-ACCESS-AFTER-LEAVING",
    "ORG-COORDINATOR-APPOINTED",
}


def test_ids_are_unique_and_include_the_contract() -> None:
    assert len(ALL_IDS) == len(set(ALL_IDS))
    assert set(ALL_IDS) >= CONTRACT_IDS


def test_each_rule_lives_in_the_file_named_after_it() -> None:
    modules = {m.name for m in pkgutil.iter_modules(rules.__path__)} - {"base"}
    assert modules == {rule_id.lower().replace("-", "_") for rule_id in ALL_IDS}


def test_scopes_match_prefixes() -> None:
    assert all(r.id.startswith("GRP-") and r.subject == "group" for r in GROUP_RULES)
    assert all(r.id.startswith("STF-") and r.subject == "staff" for r in STAFF_RULES)
    assert all(r.id.startswith("ORG-") and r.subject == "organisation" for r in ORG_RULES)


@pytest.mark.parametrize("clause_id", sorted(CLAUSES))
def test_each_clause_is_verbatim_in_the_policy(clause_id: str) -> None:
    assert normalise(CLAUSES[clause_id].text) in normalise(POLICY.read_text())


def test_the_policy_copy_matches_the_original() -> None:
    if not SHARED_POLICY.exists():
        pytest.skip("the shared original is not on this machine")
    assert POLICY.read_text() == SHARED_POLICY.read_text()


def test_every_rule_cites_an_existing_clause_and_says_what_to_do() -> None:
    for group_rule in GROUP_RULES:
        check_metadata(group_rule)
    for staff_rule in STAFF_RULES:
        check_metadata(staff_rule)
    for org_rule in ORG_RULES:
        check_metadata(org_rule)


def check_metadata(rule: GroupRule | StaffRule | OrgRule) -> None:
    assert CLAUSES[rule.clause.id] is rule.clause
    assert all(CLAUSES[c.id] is c for c in rule.also)
    assert rule.clause not in rule.also
    assert rule.title
    assert rule.remediation.endswith(".")


def test_every_finding_has_a_message_and_a_remediation() -> None:
    evaluations = [
        evaluate(GROUP_RULES, b.group_snapshot()),
        evaluate(GROUP_RULES, b.group_snapshot(members=(), reviews=(), risk_assessments=())),
        evaluate(STAFF_RULES, b.staff_snapshot()),
        evaluate(STAFF_RULES, b.staff_snapshot(b.staff(left_on=b.AS_OF))),
        evaluate(ORG_RULES, OrgSnapshot(as_of=b.AS_OF, thresholds=Thresholds())),
    ]
    for ev in evaluations:
        for f in ev.findings:
            assert f.message.strip(), f.rule_id
            assert f.remediation.strip(), f.rule_id
            assert f.clause.text, f.rule_id
