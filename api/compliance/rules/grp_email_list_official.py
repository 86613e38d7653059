from __future__ import annotations

from api.compliance.rules.base import (
    Result,
    Severity,
    email_domain,
    flag,
    group_rule,
    not_applicable,
    staff_ref,
)
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    if s.group.platform != "email_list":
        return not_applicable(
            "Only an email list carries staff email addresses to young people; on other platforms staff "
            "post in the group itself (STF-OFFICIAL-EMAIL checks each person's address)."
        )
    domains = {d.lower() for d in s.thresholds.official_email_domains}
    personal = [
        staff_ref(st, st.email) for _, st in s.current_staff() if email_domain(st.email) not in domains
    ]
    return flag(
        personal,
        "member",
        "{n} of staff on the list use{s} an address that is not an official one.",
        "Every member of staff on the list uses an official address.",
    )


RULE = group_rule(
    check,
    id="GRP-EMAIL-LIST-OFFICIAL",
    title="An email list uses only official staff addresses",
    clause="PROMOTE-OFFICIAL-EMAIL",
    severity=Severity.high,
    remediation="Replace each listed address with the person's official organisation address.",
)
