"""The rule catalog: one module per rule, listed here once, in the order findings are reported."""

from __future__ import annotations

from api.compliance.rules import (
    grp_admin_approval,
    grp_admins_are_staff,
    grp_age_range,
    grp_coordinator_member,
    grp_email_list_official,
    grp_esafety_agreement,
    grp_image_consent,
    grp_messages_seen_by_all,
    grp_no_departed_staff,
    grp_no_former_participants,
    grp_open_serious_incident,
    grp_periodic_review,
    grp_risk_assessed,
    grp_risk_privacy_features,
    grp_roster_reconciled,
    grp_staff_code_of_conduct,
    grp_staff_declarations,
    grp_staff_training,
    grp_two_staff_admins,
    grp_visibility_closed,
    grp_young_people_code_of_conduct,
    org_coordinator_appointed,
    org_physical_security,
    org_policy_displayed,
    org_security_review,
    org_technology_assessed,
    stf_code_of_conduct,
    stf_no_access_after_leaving,
    stf_official_email,
    stf_social_media_declaration,
    stf_training_current,
)
from api.compliance.rules.base import GroupRule, OrgRule, StaffRule
from api.policy import citing

GROUP_RULES: tuple[GroupRule, ...] = (
    grp_visibility_closed.RULE,
    grp_admin_approval.RULE,
    grp_two_staff_admins.RULE,
    grp_admins_are_staff.RULE,
    grp_coordinator_member.RULE,
    grp_no_departed_staff.RULE,
    grp_no_former_participants.RULE,
    grp_age_range.RULE,
    grp_periodic_review.RULE,
    grp_roster_reconciled.RULE,
    grp_risk_assessed.RULE,
    grp_risk_privacy_features.RULE,
    grp_staff_code_of_conduct.RULE,
    grp_esafety_agreement.RULE,
    grp_image_consent.RULE,
    grp_open_serious_incident.RULE,
    grp_staff_training.RULE,
    grp_email_list_official.RULE,
    grp_messages_seen_by_all.RULE,
    grp_young_people_code_of_conduct.RULE,
    grp_staff_declarations.RULE,
)
STAFF_RULES: tuple[StaffRule, ...] = (
    stf_code_of_conduct.RULE,
    stf_official_email.RULE,
    stf_training_current.RULE,
    stf_no_access_after_leaving.RULE,
    stf_social_media_declaration.RULE,
)
ORG_RULES: tuple[OrgRule, ...] = (
    org_coordinator_appointed.RULE,
    org_security_review.RULE,
    org_physical_security.RULE,
    org_policy_displayed.RULE,
    org_technology_assessed.RULE,
)

ALL_RULES: tuple[GroupRule | StaffRule | OrgRule, ...] = (*GROUP_RULES, *STAFF_RULES, *ORG_RULES)
ALL_IDS: tuple[str, ...] = tuple(r.id for r in ALL_RULES)
GROUP_RULE_IDS = frozenset(r.id for r in GROUP_RULES)

# The policy asks which rules cite which sentences when a new version is previewed or published.
citing.register(
    citing.CitingRule(r.id, r.severity.value, tuple(c.id for c in (r.clause, *r.also))) for r in ALL_RULES
)
