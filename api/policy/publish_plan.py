"""What publishing a policy version would do, worked out with nothing written: the clause ids the new text
keeps or mints, the rules it stops, the enforced sentences it rewords or removes, the confirmations the body
leaves out or names wrongly, and the token that binds confirmations to this plan. Publishing itself is
api/policy/publishing.py."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api import clock
from api.auth.principal import Principal
from api.errors import Conflict, FieldError, Unprocessable
from api.policy import text as policy_text
from api.policy.citing import CitingRule, citing_rules
from api.policy.version_service import clauses_of, diff_of, live
from api.policy.versions import (
    MAX_DAYS_AHEAD,
    PolicyClause,
    PolicyDiffPublic,
    PolicyVersion,
    PolicyVersionCreate,
    PublishPreview,
    RemovedClause,
    RewordedClause,
    StoppedRule,
    TurnedRound,
)


def _enforcing() -> dict[str, list[str]]:
    """Clause id -> the ids of the rules that cite it."""
    out: dict[str, list[str]] = {}
    for rule in citing_rules():
        for cid in rule.clause_ids:
            out.setdefault(cid, []).append(rule.id)
    return out


def _applied(rule: CitingRule, texts: Mapping[str, str]) -> bool:
    return any(cid in texts for cid in rule.clause_ids)


def _known_words(session: Session, leave_out: set[str]) -> dict[str, str]:
    """Every clause id any version not withdrawn has had, with its latest words, the latest version's ids
    first (in its order): a sentence that comes back gets its id back, and where two ids share words the
    latest version's wins."""
    known: dict[str, str] = {}
    for cid, text in session.exec(
        select(PolicyClause.clause_id, PolicyClause.text)
        .join(PolicyVersion, col(PolicyVersion.id) == col(PolicyClause.version_id))
        .where(live())
        .order_by(col(PolicyVersion.number).desc(), col(PolicyClause.position))
    ).all():
        if cid not in leave_out:
            known.setdefault(cid, text)
    return known


@dataclass(frozen=True, slots=True)
class Plan:
    number: int
    latest: PolicyVersion | None
    clauses: list[PolicyClause]
    version: PolicyVersion
    preview: PublishPreview


def plan(session: Session, caller: Principal, data: PolicyVersionCreate) -> Plan:
    """Everything a publish would store, worked out and checked, with nothing written: reads only, so the
    matching (the slow part for a long text) runs before the publish takes the database's write lock."""
    today = clock.today()
    if data.effective_on < today:
        raise Unprocessable.field(
            "effective_on",
            f"effective_on ({data.effective_on}) is in the past: a new version starts today or later",
        )
    if data.effective_on > today + timedelta(days=MAX_DAYS_AHEAD):
        raise Unprocessable.field(
            "effective_on",
            f"effective_on ({data.effective_on}) is more than {MAX_DAYS_AHEAD} days ahead: publish a version "
            "within the year it will be in force",
        )
    latest = session.exec(
        select(PolicyVersion).where(live()).order_by(col(PolicyVersion.number).desc())
    ).first()
    if latest is not None and data.effective_on <= latest.effective_on:
        raise Unprocessable.field(
            "effective_on",
            f"effective_on ({data.effective_on}) must be after version {latest.number}'s "
            f"({latest.effective_on}); a version not yet in force can be withdrawn instead",
        )
    sentences = policy_text.sentences(data.text)
    if not sentences:
        raise Unprocessable.field(
            "text", "The text has no sentence (a sentence ends with . ! ? or a line end)"
        )
    previous = clauses_of(session, latest) if latest is not None else []
    if previous and [s.text for s in sentences] == [c.text for c in previous]:
        raise Conflict(f"The text is version {latest.number if latest else 0}'s, sentence for sentence")
    highest = session.execute(sa.select(sa.func.max(col(PolicyVersion.number)))).scalar()
    number = int(highest or 0) + 1
    matched = policy_text.match(_known_words(session, set(data.declare_removed)), sentences, f"V{number}")
    version = PolicyVersion(
        number=number,
        effective_on=data.effective_on,
        published_on=today,
        text=data.text,
        summary=data.summary,
        published_by_label=caller.label,
    )
    clauses = [
        PolicyClause(
            version_id=version.id,
            clause_id=m.clause_id,
            position=i + 1,
            section=m.sentence.section[:200],
            text=m.sentence.text,
        )
        for i, m in enumerate(matched)
    ]
    before = {c.clause_id: c.text for c in previous}
    after = {c.clause_id: c.text for c in clauses}
    enforcing = _enforcing()
    stopped = [
        StoppedRule(
            rule_id=r.id,
            severity=r.severity,
            clauses=list(r.clause_ids),
        )
        for r in citing_rules()
        if _applied(r, before) and not _applied(r, after)
    ]
    reworded = [
        RewordedClause(
            clause_id=m.clause_id,
            before=m.previous_text,
            after=m.sentence.text,
            rules=enforcing[m.clause_id],
        )
        for m in matched
        if m.clause_id in enforcing and m.previous_text is not None and m.previous_text != m.sentence.text
    ]
    removed = {cid: t for cid, t in before.items() if cid not in after}
    added = {cid: t for cid, t in after.items() if cid not in before}
    hints = [
        TurnedRound(removed=old, added=new, before=removed[old], after=added[new])
        for old, new in policy_text.turned_round(removed, added)
    ]
    # Every enforced sentence left out or given a new id, whether or not each rule citing it stops: a rule
    # citing four sentences loses an enforced promise when one goes.
    enforced_removed = [
        RemovedClause(clause_id=cid, before=t, rules=enforcing[cid])
        for cid, t in removed.items()
        if cid in enforcing
    ]
    diff = diff_of(latest.number if latest else 0, previous, number, clauses)
    resumed = [r.id for r in citing_rules() if before and not _applied(r, before) and _applied(r, after)]
    token = _token(data, latest, number, diff, stopped, resumed, reworded, enforced_removed)
    removal_declared = set(data.confirm_removed) | set(data.declare_removed)
    preview = PublishPreview(
        number=number,
        diff=diff,
        rules_stopped=stopped,
        rules_resumed=resumed,
        reworded=reworded,
        enforced_removed=enforced_removed,
        turned_round=hints,
        unconfirmed_rules_stopped=[r.rule_id for r in stopped if r.rule_id not in data.confirm_rules_stopped],
        unconfirmed_reworded=[c.clause_id for c in reworded if c.clause_id not in data.confirm_reworded],
        unconfirmed_removed=[c.clause_id for c in enforced_removed if c.clause_id not in removal_declared],
        token=token,
    )
    _check_confirmations(data, preview, set(before))
    return Plan(number, latest, clauses, version, preview)


def _token(
    data: PolicyVersionCreate,
    latest: PolicyVersion | None,
    number: int,
    diff: PolicyDiffPublic,
    stopped: list[StoppedRule],
    resumed: list[str],
    reworded: list[RewordedClause],
    removed: list[RemovedClause],
) -> str:
    """SHA-256 (hex) of what a publish of `data` would do: its text and date, the version it follows and
    the number it gets, and every planned change (which carries `declare_removed`'s effect, but none of the
    confirmations, so a preview of the bare body gives the token its confirmed publish must send). A
    different text, date, latest version or rule catalog gives another token."""
    plan = {
        "text": data.text,
        "effective_on": data.effective_on.isoformat(),
        "latest": latest.number if latest else 0,
        "number": number,
        "diff": diff.model_dump(mode="json"),
        "rules_stopped": [r.model_dump(mode="json") for r in stopped],
        "rules_resumed": resumed,
        "reworded": [c.model_dump(mode="json") for c in reworded],
        "enforced_removed": [c.model_dump(mode="json") for c in removed],
    }
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()


def _check_confirmations(data: PolicyVersionCreate, p: PublishPreview, previous_ids: set[str]) -> None:
    """422 naming the field and the ids for a confirmation that matches nothing in the plan: a
    confirmation carried over from another text's preview confirms nothing here, and silently ignoring it
    would hide that."""
    planned = {
        "confirm_rules_stopped": {r.rule_id for r in p.rules_stopped},
        "confirm_reworded": {c.clause_id for c in p.reworded},
        "confirm_removed": {c.clause_id for c in p.enforced_removed},
        "declare_removed": previous_ids,
    }
    errors = [
        FieldError(
            field=field,
            message=f"{field} names {', '.join(unknown)}, which this version's plan does not have: "
            "preview again",
            type="value_error",
        )
        for field, sent in (
            ("confirm_rules_stopped", data.confirm_rules_stopped),
            ("confirm_reworded", data.confirm_reworded),
            ("confirm_removed", data.confirm_removed),
            ("declare_removed", data.declare_removed),
        )
        if (unknown := sorted(set(sent) - planned[field]))
    ]
    if errors:
        raise Unprocessable("Confirmations that match nothing in the plan", errors=errors)
