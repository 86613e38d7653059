from __future__ import annotations

from api.compliance.clauses import clause
from api.compliance.rules.base import (
    Evidence,
    GroupRule,
    Result,
    Scope,
    Severity,
    count,
    failed,
    not_applicable,
    passed,
)
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    g = s.group
    if g.platform == "email_list":
        return not_applicable(
            "An email list is the organisation's email, which the policy allows (GRP-EMAIL-LIST-OFFICIAL "
            "checks the addresses)."
        )
    young = len(s.current_participants())
    if not young:
        return not_applicable("No young people are in the group: it is not used to communicate with them.")
    if not g.messages_seen_by_all:
        return failed(
            f"Staff reach {count(young, 'young person', 'young people')} here, where not every member sees "
            "every message (direct messages or a broadcast list).",
            Evidence("group", g.id, g.name, f"{g.platform}: messages not seen by all members"),
        )
    return passed(
        f"Every member sees every message, including the {count(young, 'young person', 'young people')}."
    )


RULE = GroupRule(
    id="GRP-MESSAGES-SEEN-BY-ALL",
    title="Young people are reached only where every member sees every message",
    clause=clause("REC-COMMUNICATE-VIA-GROUPS"),
    also=(clause("REC-NO-PERSONAL-MESSAGES"),),
    severity=Severity.high,
    remediation="Move the conversation to a group or channel every member can read (a Facebook group, a "
    "Discord channel) or to the organisation's email, and stop using direct messages or a broadcast list "
    "with young people.",
    scope=Scope.group,
    check=check,
)
