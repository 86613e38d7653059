"""Staff and organisation rules over hand-built snapshots."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from api.compliance.rules import org_coordinator_appointed as coordinator
from api.compliance.rules import stf_code_of_conduct as code_of_conduct
from api.compliance.rules import stf_no_access_after_leaving as no_access
from api.compliance.rules import stf_official_email as official_email
from api.compliance.rules import stf_training_current as training
from api.compliance.rules.base import Outcome
from api.compliance.snapshot import GroupMembershipRef, OrgSnapshot, Thresholds
from tests.compliance import builders as b
from tests.compliance.builders import AS_OF, days

PASS, FAIL, WARN, NA = Outcome.pass_, Outcome.fail, Outcome.warn, Outcome.not_applicable


def test_code_of_conduct() -> None:
    assert code_of_conduct.check(b.staff_snapshot()).outcome is PASS
    assert code_of_conduct.check(b.staff_snapshot(b.staff(code_of_conduct_signed_on=None))).outcome is FAIL
    signed_today = b.staff(code_of_conduct_signed_on=AS_OF)
    assert code_of_conduct.check(b.staff_snapshot(signed_today)).outcome is PASS
    no_social = b.staff(uses_social_media_for_work=False, code_of_conduct_signed_on=None)
    assert code_of_conduct.check(b.staff_snapshot(no_social)).outcome is NA
    left = b.staff(code_of_conduct_signed_on=None, left_on=AS_OF)
    assert code_of_conduct.check(b.staff_snapshot(left)).outcome is NA


@pytest.mark.parametrize(
    ("email", "outcome"),
    [
        ("a@moremusic.org.uk", PASS),
        ("a@MoreMusic.org.uk", PASS),
        ("a@gmail.com", FAIL),
        ("a@x.moremusic.org.uk", FAIL),
    ],
)
def test_official_email(email: str, outcome: Outcome) -> None:
    assert official_email.check(b.staff_snapshot(b.staff(email=email))).outcome is outcome


def test_official_email_domains_come_from_the_settings() -> None:
    snapshot = replace(
        b.staff_snapshot(b.staff(email="a@other.org")),
        thresholds=Thresholds(official_email_domains=("other.org",)),
    )
    assert official_email.check(snapshot).outcome is PASS


@pytest.mark.parametrize(("age", "outcome"), [(365, PASS), (366, WARN)])
def test_training_threshold_day(age: int, outcome: Outcome) -> None:
    person = b.staff(esafety_training_completed_on=AS_OF - days(age))
    assert training.check(b.staff_snapshot(person)).outcome is outcome


def test_training_missing_warns() -> None:
    assert training.check(b.staff_snapshot(b.staff(esafety_training_completed_on=None))).outcome is WARN


def ref(**kw: object) -> GroupMembershipRef:
    values: dict[str, object] = {"group_id": uuid.uuid4(), "group_name": "Band", "role": "admin"}
    values["started_on"] = AS_OF - days(50)
    values.update(kw)
    return GroupMembershipRef(**values)  # type: ignore[arg-type]


def test_no_access_after_leaving() -> None:
    assert no_access.check(b.staff_snapshot()).outcome is NA
    left_clean = b.staff(left_on=AS_OF, has_active_account=False)
    assert no_access.check(b.staff_snapshot(left_clean)).outcome is PASS
    left_with_account = b.staff(left_on=AS_OF, has_active_account=True)
    result = no_access.check(b.staff_snapshot(left_with_account))
    assert result.outcome is FAIL
    assert "account" in result.message
    left_in_group = b.staff(left_on=AS_OF - days(5), has_active_account=False)
    result = no_access.check(b.staff_snapshot(left_in_group, memberships=(ref(),)))
    assert result.outcome is FAIL
    assert any(e.type == "group" for e in result.evidence)
    # A membership ending the day they left no longer holds on that day.
    ended = ref(ended_on=AS_OF - days(5))
    assert no_access.check(b.staff_snapshot(left_in_group, memberships=(ended,))).outcome is PASS


def test_coordinator_appointed() -> None:
    current = b.staff(is_esafety_coordinator=True)
    assert coordinator.check(OrgSnapshot(AS_OF, Thresholds(), (current,))).outcome is PASS
    assert coordinator.check(OrgSnapshot(AS_OF, Thresholds(), ())).outcome is FAIL
    left_today = b.staff(is_esafety_coordinator=True, left_on=AS_OF)
    assert coordinator.check(OrgSnapshot(AS_OF, Thresholds(), (left_today,))).outcome is FAIL
