from __future__ import annotations

from api.compliance.rules.base import (
    Evidence,
    Result,
    Severity,
    count,
    failed,
    group_rule,
    not_applicable,
    passed,
    warned,
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
    if g.messages_seen_by_all is None:
        # Unknown is not a pass: WhatsApp, Discord or Instagram can be a group every member reads or direct
        # messages and broadcast lists, and only whoever runs the group knows which.
        return warned(
            f"Staff reach {count(young, 'young person', 'young people')} here, and nobody has recorded "
            "whether every member sees every message (a group) or not (direct messages, a broadcast list).",
            Evidence("group", g.id, g.name, f"{g.platform}: messages_seen_by_all not recorded"),
        )
    if not g.messages_seen_by_all:
        return failed(
            f"Staff reach {count(young, 'young person', 'young people')} here, where not every member sees "
            "every message (direct messages or a broadcast list).",
            Evidence("group", g.id, g.name, f"{g.platform}: messages not seen by all members"),
        )
    return passed(
        f"Every member sees every message, including the {count(young, 'young person', 'young people')}."
    )


RULE = group_rule(
    check,
    id="GRP-MESSAGES-SEEN-BY-ALL",
    title="Young people are reached only where every member sees every message",
    clause="REC-COMMUNICATE-VIA-GROUPS",
    also=("REC-NO-PERSONAL-MESSAGES",),
    severity=Severity.high,
    remediation="Move the conversation to a group or channel every member can read (a Facebook group, a "
    "Discord channel) or to the organisation's email, and stop using direct messages or a broadcast list "
    "with young people. While it is not recorded, record it (PATCH /api/v1/groups/{group_id} with "
    "messages_seen_by_all).",
)
