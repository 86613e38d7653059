"""GRP-ROSTER-RECONCILED: the latest member list taken from the platform has everyone on it accounted for.

An unknown person on the platform is the failure that matters most in a children's group (an adult nobody
has identified), and the records cannot show it: only a roster can. A group that never had a roster
uploaded is not judged here (GRP-PERIODIC-REVIEW still asks for its review). Unknown people on an earlier
list keep counting until answered unless a person uploaded a later list (`still_open_before`): a
connector's partial list must not hide an adult nobody identified.

The evidence names each discrepancy between the list and the records on `as_of` (the same judgement as the
roster's own view, `api.rosters.match.discrepancies`), each with what to do: an entry nobody is matched to
as the platform shows it (`roster_entry`), a matched person as themselves (`staff` or `participant`, so a
young person's name is redacted like any other). The first evidence is the roster with its counts: all that
a caller who reaches rosters' counts only (trustees) is shown."""

from __future__ import annotations

from collections import Counter

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
from api.compliance.snapshot import GroupSnapshot, RosterEntryFacts, RosterFacts
from api.rosters import match
from api.rosters.models import Match, PlatformRole, Resolution

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _state(e: RosterEntryFacts) -> match.EntryState:
    return match.EntryState(
        e.id,
        PlatformRole(e.platform_role),
        Match(e.match),
        e.person,
        Resolution(e.resolution) if e.resolution is not None else None,
    )


def _members(s: GroupSnapshot) -> list[match.MemberState]:
    """The group's memberships on `as_of`, as reconciliation reads them (the person's id stands for the
    membership's, which the evidence does not show)."""
    members = [
        match.MemberState(
            st.id, match.Person("staff", st.id, st.full_name, st.started_on, st.left_on), m.is_admin
        )
        for m, st in s.current_staff()
    ]
    for m, p in s.current_participants():
        pid = p.id
        person = match.Person("participant", pid, p.full_name, p.joined_on, p.left_on, p.date_of_birth)
        members.append(match.MemberState(pid, person, m.is_admin))
    return members


def discrepancies(s: GroupSnapshot, roster: RosterFacts) -> list[Evidence]:
    """Each discrepancy between the roster's entries (as answered by `as_of`) and the group's records on
    `as_of`, worst first, then in the list's order; empty when the entries were not loaded."""
    if roster.entries is None:
        return []
    by_id = {e.id: e for e in roster.entries}
    found = match.discrepancies(
        [_state(e) for e in roster.entries],
        _members(s),
        today=s.as_of,
        min_age=s.group.min_age,
        max_age=s.group.max_age,
    )
    evidence = []
    for d in sorted(found, key=lambda d: _SEVERITY_ORDER.get(d.severity, 9)):
        entry = by_id.get(d.entry_id) if d.entry_id is not None else None
        where = f"row {entry.row} of the list, shown as {entry.shown_as!r}" if entry else "not on the list"
        detail = f"{d.kind} ({d.severity}), {where}: {d.action}"
        if d.person is not None:
            evidence.append(Evidence(d.person.type, d.person.id, d.person.name, detail))
        elif entry is not None:
            evidence.append(Evidence("roster_entry", entry.id, f"row {entry.row}: {entry.shown_as}", detail))
    return evidence


def _summary(roster: RosterFacts, named: list[Evidence]) -> Evidence:
    detail = f"{roster.open_unknown} unknown, {roster.open_probable} unconfirmed"
    if roster.entries is not None:
        kinds = Counter((e.detail or "").split(" ", 1)[0] for e in named)
        detail += "; discrepancies: " + (
            ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())) if kinds else "none"
        )
    return Evidence("roster", roster.id, f"member list of {roster.captured_on}", detail)


def still_open_before(ordered: list[RosterFacts]) -> list[RosterFacts]:
    """The rosters before the latest (in `ordered`, oldest first) whose unknown people still count: an
    unknown person stays unknown until someone answers for them, and only a list a person uploaded (who then
    answers for everyone on it) supersedes the lists before it. So: every earlier roster from the latest one
    a person uploaded onwards (all of them if a person uploaded none); a later upload by a connector's key
    hides nobody."""
    if ordered[-1].by_person:
        return []
    start = max((i for i, r in enumerate(ordered[:-1]) if r.by_person), default=0)
    return ordered[start:-1]


def check(s: GroupSnapshot) -> Result:
    taken = [r for r in s.rosters if r.captured_on <= s.as_of]
    if not taken:
        return not_applicable("No member list has been uploaded from the platform for this group.")
    # Stable: of two lists taken the same day, the one uploaded last.
    ordered = sorted(taken, key=lambda r: r.captured_on)
    latest = ordered[-1]
    named = discrepancies(s, latest)
    evidence = (_summary(latest, named), *named)
    earlier = still_open_before(ordered)
    carried = sum(r.open_unknown for r in earlier)
    if latest.open_unknown or latest.open_probable or carried:
        parts = []
        if latest.open_unknown:
            parts.append(f"{count(latest.open_unknown, 'person', 'people')} nobody has identified")
        if latest.open_probable:
            parts.append(f"{count(latest.open_probable, 'match', 'matches')} by name alone not yet confirmed")
        what = (
            f"The platform's member list of {latest.captured_on} has {' and '.join(parts)}." if parts else ""
        )
        if carried:
            lists = ", ".join(str(r.captured_on) for r in earlier if r.open_unknown)
            what += (
                f" {count(carried, 'person', 'people')} nobody has identified on earlier lists ({lists}) "
                "still wait for an answer: a later list uploaded by a connector's key does not clear them."
            )
            evidence += tuple(
                Evidence("roster", r.id, f"member list of {r.captured_on}", f"{r.open_unknown} unknown")
                for r in earlier
                if r.open_unknown
            )
        return failed(what.strip(), *evidence)
    interval = s.thresholds.review_interval_days
    age = (s.as_of - latest.captured_on).days
    if age > interval:
        return warned(
            f"The latest member list from the platform was taken on {latest.captured_on}, {age} days ago; "
            f"reviews are due every {interval} days.",
            *evidence,
        )
    return passed(f"Everyone on the member list of {latest.captured_on} is accounted for.", *evidence)


RULE = group_rule(
    check,
    id="GRP-ROSTER-RECONCILED",
    title="Everyone on the platform's member list is accounted for",
    clause="REC-PERIODIC-REVIEW",
    severity=Severity.critical,
    remediation="Open the group's latest roster, identify or remove each unknown person and confirm each "
    "probable match, then apply it; upload a fresh member list at every review.",
)
