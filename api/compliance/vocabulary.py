"""The words of a compliance answer, each value described for the spec: a group's status, a finding's
outcome, a rule's scope, how exactly a day is meant, a history's interval, and which facts a report takes
as they stood on its date (`FACTS`).

Plain enums standing on the kernel alone, so the tables (`models.py`), the rules, the engine and the answers'
shapes (`shapes.py`) all take them from here without importing one another.
"""

from __future__ import annotations

from api.described import DescribedEnum


class Status(DescribedEnum):
    """A group's (or a member of staff's, or the organisation's) standing against the policy, from its
    findings: the worst outcome that counts (a waived finding does not count).

    - compliant: No finding that counts fails or warns: every rule passes, does not apply, or is waived.
    - at_risk: A finding that counts warns and none fails: not a breach of the policy yet, but it needs
      attention (training going out of date, a serious incident still open).
    - non_compliant: A finding that counts fails: the policy is broken now."""

    compliant = "compliant"
    at_risk = "at_risk"
    non_compliant = "non_compliant"


class Outcome(DescribedEnum):
    """One rule's verdict on one group, member of staff or the organisation, on `as_of`. The true verdict: a
    waiver never changes it (see the finding's `waiver` and `counts_against_status`).

    - pass: The policy sentence the rule keeps is met.
    - fail: The policy sentence is broken; the status is `non_compliant` unless a waiver covers it.
    - warn: Not a breach yet, but it needs attention (it will break soon, or a serious matter is open); the
      status is at least `at_risk` unless a waiver covers it.
    - not_applicable: Nothing to judge (image consent in a group that shares no images), or the policy version
      in force no longer has the rule's sentences; `message` says which. Counts towards no status."""

    pass_ = "pass"
    fail = "fail"
    warn = "warn"
    not_applicable = "not_applicable"


class Subject(DescribedEnum):
    """What a rule judges: a group, a member of staff, or the organisation (the API calls it the rule's
    `scope`; "scope" in the code is only an API key's).

    - group: Judged for each active online group: a finding in the group's report.
    - staff: Judged for each current member of staff: a finding in their staff report, and in the organisation
      report over all staff.
    - organisation: Judged once for the organisation as a whole (its coordinator, controls, technologies): a
      finding in the organisation report."""

    group = "group"
    staff = "staff"
    organisation = "organisation"


class Precision(DescribedEnum):
    """How exactly a day shown is meant: the day itself, or some day in the calendar month beginning on it
    (a day a caller may not know exactly, since it could be a young person's birthday).

    - day: The day shown is the day meant.
    - month: The day shown is the first (or, for an `as_of`, the last) of a calendar month, and the day meant
      is somewhere in that month: for a caller who may not see every young person, since the exact day could
      be a young person's birthday."""

    day = "day"
    month = "month"


class Interval(DescribedEnum):
    """How far apart the points of an organisation's compliance history are.

    - week: A point every 7 days after `from`, and one on `to`. Only for a caller who reads every young person
      (422 otherwise).
    - month: A point on the same day of each month after `from` (the month's last day where it is shorter),
      and one on `to`."""

    week = "week"
    month = "month"


class EvidenceType(DescribedEnum):
    """What kind of record a finding's evidence is; its `id` is that record's id.

    - group: An online group (`/api/v1/groups/{id}`).
    - staff: A member of staff (`/api/v1/staff/{id}`).
    - participant: A young person (`/api/v1/participants/{id}`). For a caller who may not see them, `id` and
      `detail` are null and `label` is neutral.
    - incident: An incident (`/api/v1/incidents/{id}`).
    - risk_assessment: A group's risk assessment (`/api/v1/groups/{group_id}/risk-assessments`).
    - review: A group's periodic review (`/api/v1/groups/{group_id}/reviews`).
    - roster: A member list taken from the platform (`/api/v1/groups/{group_id}/rosters/{id}`).
    - roster_entry: One row of a member list, as the platform shows the person.
    - technology: A social media tool or other technology (`/api/v1/technologies/{id}`).
    - control: A recurring control the organisation checks (`/api/v1/controls/{id}`)."""

    group = "group"
    staff = "staff"
    participant = "participant"
    incident = "incident"
    risk_assessment = "risk_assessment"
    review = "review"
    roster = "roster"
    roster_entry = "roster_entry"
    technology = "technology"
    control = "control"


# What the response tells its reader: which facts were taken as they stood on `as_of`, which are today's.
FACTS: dict[str, list[str]] = {
    "dated": [
        "memberships (started_on, ended_on)",
        "staff employment (started_on, left_on)",
        "participants taking part (joined_on, left_on) and their ages",
        "consents (given_on and recorded by as_of, expires_on, withdrawn_on)",
        "staff code of conduct and e-safety training dates",
        "group start date",
        "reviews and risk assessments (on or before as_of, and recorded by then)",
        "rosters (taken and uploaded on or before as_of) and the answers for their entries (made on or "
        "before as_of)",
        "incidents (reported on or before as_of, not closed by then)",
        "waivers (granted, expires_on, revoked)",
        "the policy version in force (effective_on) and the latest published (published_on)",
        "staff declarations (declared_on), control checks and technology assessments (on or before as_of, "
        "recorded by then)",
    ],
    "current": [
        "policy settings (today's thresholds)",
        "group settings (platform, visibility, join approval, age range, shares images, messages seen by "
        "all)",
        "staff flags (e-safety coordinator, uses social media for work) and email addresses",
        "incident severity and status labels",
        "sign-in accounts (enabled or not)",
        "whom a roster entry answered as identified names (an earlier probable match is not kept)",
        "controls (owner, cadence) and technologies (first used, retired)",
    ],
}
