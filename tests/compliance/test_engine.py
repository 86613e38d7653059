"""The engine: one finding per rule, the status from outcomes, waivers, aggregation and redaction."""

from __future__ import annotations

import uuid

from api.compliance.engine import (
    WaiverFacts,
    aggregate_staff_rule,
    evaluate,
    redact_participants,
)
from api.compliance.models import Status
from api.compliance.rules import GROUP_RULES
from api.compliance.rules import stf_official_email as official_email
from api.compliance.rules.base import Outcome
from tests.compliance import builders as b
from tests.compliance.builders import AS_OF, days


def waiver(rule_id: str, **kw: object) -> WaiverFacts:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "group_id": uuid.uuid4(),
        "rule_id": rule_id,
        "reason": "platform migration",
        "granted_on": AS_OF - days(10),
        "expires_on": AS_OF + days(10),
    }
    values.update(kw)
    return WaiverFacts(**values)  # type: ignore[arg-type]


def test_a_clean_group_is_compliant_with_one_finding_per_rule() -> None:
    ev = evaluate(GROUP_RULES, b.group_snapshot())
    assert ev.status is Status.compliant
    assert [f.rule_id for f in ev.findings] == [r.id for r in GROUP_RULES]
    assert sum(ev.counts[o.value] for o in Outcome) == len(GROUP_RULES)
    assert ev.counts["fail"] == ev.counts["warn"] == ev.counts["waived"] == 0


def test_a_warn_alone_is_at_risk_and_a_fail_is_non_compliant() -> None:
    warned = b.group_snapshot(incidents=(b.incident(),))
    assert evaluate(GROUP_RULES, warned).status is Status.at_risk
    failed = b.with_group(warned, visibility="public")
    ev = evaluate(GROUP_RULES, failed)
    assert ev.status is Status.non_compliant
    assert ev.counts["fail"] == 1
    assert ev.counts["warn"] == 1


def test_a_waiver_in_force_keeps_the_true_outcome_but_does_not_count() -> None:
    snapshot = b.with_group(b.group_snapshot(), visibility="public")
    ev = evaluate(GROUP_RULES, snapshot, {"GRP-VISIBILITY-CLOSED": waiver("GRP-VISIBILITY-CLOSED")})
    found = next(f for f in ev.findings if f.rule_id == "GRP-VISIBILITY-CLOSED")
    assert found.outcome is Outcome.fail
    assert found.waiver is not None
    assert found.counts_against_status is False
    assert ev.status is Status.compliant
    assert ev.counts["fail"] == 1
    assert ev.counts["waived"] == 1


def test_a_waiver_counts_until_the_day_it_expires() -> None:
    snapshot = b.with_group(b.group_snapshot(), visibility="public")
    expiring_today = waiver("GRP-VISIBILITY-CLOSED", expires_on=AS_OF)
    ev = evaluate(GROUP_RULES, snapshot, {"GRP-VISIBILITY-CLOSED": expiring_today})
    assert ev.status is Status.non_compliant
    assert next(f for f in ev.findings if f.rule_id == "GRP-VISIBILITY-CLOSED").waiver is None
    tomorrow = waiver("GRP-VISIBILITY-CLOSED", expires_on=AS_OF + days(1))
    assert evaluate(GROUP_RULES, snapshot, {"GRP-VISIBILITY-CLOSED": tomorrow}).status is Status.compliant


def test_a_revoked_or_later_waiver_does_not_apply() -> None:
    snapshot = b.with_group(b.group_snapshot(), visibility="public")
    revoked = waiver("GRP-VISIBILITY-CLOSED", revoked_on=AS_OF)
    assert evaluate(GROUP_RULES, snapshot, {"GRP-VISIBILITY-CLOSED": revoked}).status is Status.non_compliant
    later = waiver("GRP-VISIBILITY-CLOSED", granted_on=AS_OF + days(1))
    assert evaluate(GROUP_RULES, snapshot, {"GRP-VISIBILITY-CLOSED": later}).status is Status.non_compliant


def test_a_waiver_on_a_passing_rule_changes_nothing() -> None:
    ev = evaluate(GROUP_RULES, b.group_snapshot(), {"GRP-VISIBILITY-CLOSED": waiver("GRP-VISIBILITY-CLOSED")})
    assert ev.status is Status.compliant
    assert ev.counts["waived"] == 1


def test_a_staff_rule_aggregates_to_the_worst_outcome() -> None:
    good = b.staff_snapshot(b.staff(full_name="Good"))
    bad = b.staff_snapshot(b.staff(full_name="Bad", email="bad@gmail.com"))
    gone = b.staff_snapshot(b.staff(full_name="Gone", email="g@gmail.com", left_on=AS_OF))
    result = aggregate_staff_rule(official_email.RULE, [good, bad, gone])
    assert result.outcome is Outcome.fail
    assert "1 of 2" in result.message
    assert [e.label for e in result.evidence] == ["Bad"]
    assert aggregate_staff_rule(official_email.RULE, [good]).outcome is Outcome.pass_
    assert aggregate_staff_rule(official_email.RULE, [gone]).outcome is Outcome.not_applicable


def test_redaction_replaces_participant_names_only() -> None:
    child = b.participant(full_name="Secret Child", consents=())
    snapshot = b.group_snapshot(members=(b.member(b.COORDINATOR, "admin"), b.member(child)))
    ev = redact_participants(evaluate(GROUP_RULES, snapshot))
    labels = [e.label for f in ev.findings for e in f.evidence]
    assert "Secret Child" not in repr(ev)
    assert "a young person outside your groups" in labels
    assert child.id not in {e.id for f in ev.findings for e in f.evidence}
    assert b.COORDINATOR.full_name in labels
    # Nor any detail of theirs (an age on a date, a consent date): stepping as_of would date their birth.
    redacted = [e for f in ev.findings for e in f.evidence if e.type == "participant"]
    assert redacted
    assert all(e.detail is None for e in redacted)
    original = [
        e for f in evaluate(GROUP_RULES, snapshot).findings for e in f.evidence if e.type == "participant"
    ]
    assert any(e.detail for e in original)  # the test would see a detail if one slipped through
