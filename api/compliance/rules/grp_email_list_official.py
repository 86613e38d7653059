from __future__ import annotations

from api.compliance.rules.base import (
    GroupRule,
    Result,
    Severity,
    Subject,
    count,
    email_domain,
    failed,
    not_applicable,
    passed,
    staff_ref,
)
from api.compliance.snapshot import GroupSnapshot
from api.policy.clauses import clause


def check(s: GroupSnapshot) -> Result:
    if s.group.platform != "email_list":
        return not_applicable(
            "Only an email list carries staff email addresses to young people; on other platforms staff "
            "post in the group itself (STF-OFFICIAL-EMAIL checks each person's address)."
        )
    domains = {d.lower() for d in s.thresholds.official_email_domains}
    personal = [st for _, st in s.current_staff() if email_domain(st.email) not in domains]
    if personal:
        return failed(
            f"{count(len(personal), 'member')} of staff on the list "
            f"{'uses' if len(personal) == 1 else 'use'} an address that is not an official one.",
            *(staff_ref(st, st.email) for st in personal),
        )
    return passed("Every member of staff on the list uses an official address.")


RULE = GroupRule(
    id="GRP-EMAIL-LIST-OFFICIAL",
    title="An email list uses only official staff addresses",
    clause=clause("PROMOTE-OFFICIAL-EMAIL"),
    severity=Severity.high,
    remediation="Replace each listed address with the person's official organisation address.",
    subject=Subject.group,
    check=check,
)
