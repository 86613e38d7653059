"""The organisation's policy settings: one row, the defaults until a coordinator changes them."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from api import crud
from api.auth.principal import Principal
from api.errors import PreconditionFailed, Unprocessable
from api.policy.clauses import clause
from api.policy.models import (
    OFFICIAL_EMAIL_CLAUSE,
    PERSONAL_MAIL_DOMAINS,
    PolicySettings,
    PolicySettingsUpdate,
)

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def get(*, session: Session) -> PolicySettings:
    """The settings in force (the defaults, unsaved, if none were ever set)."""
    row = session.exec(select(PolicySettings).order_by(col(PolicySettings.created_at))).first()
    return row if row is not None else PolicySettings()


def replace(
    *, session: Session, caller: Principal, data: PolicySettingsUpdate, expected_version: int | None = None
) -> PolicySettings:
    """Replace the whole settings document."""
    domains = [d.strip().lower() for d in data.official_email_domains]
    for i, domain in enumerate(domains):
        if not DOMAIN.match(domain):
            raise Unprocessable.field(f"official_email_domains.{i}", f"{domain!r} is not a domain name")
        if domain in PERSONAL_MAIL_DOMAINS:
            raise Unprocessable.field(
                f"official_email_domains.{i}",
                f"{domain} is personal webmail anyone can sign up for, not an account the organisation "
                f'provides. The policy: "{clause(OFFICIAL_EMAIL_CLAUSE).text}"',
            )
    # Under the row's lock, so replacements sent at once queue rather than all but one answering 409.
    current = session.exec(
        crud.locked(select(PolicySettings).order_by(col(PolicySettings.created_at)))
    ).first()
    if current is None:
        # The unsaved defaults are served as version 1 (`get`), so that is the only ETag that matches them.
        if expected_version not in (None, 1):
            raise PreconditionFailed(f"The settings are at version 1, not {expected_version}")
        row = PolicySettings.model_validate(data)
        row.official_email_domains = domains
        # The first saved document is version 2, so an If-Match read from the defaults cannot overwrite it.
        row.version = 2
        return crud.save(session, row, actor=caller, action="policy_settings.create")
    before = crud.apply(current, data)
    current.official_email_domains = domains
    return crud.save(
        session,
        current,
        actor=caller,
        action="policy_settings.update",
        before=before,
        expected_version=expected_version,
    )
