from tests.matrix.roles import C, S

# Staff are narrowed further by the service: read the groups they are in, manage the groups they admin.
# Trustees see only counts (a group's member_count); integration keys have no business here.
ROUTES = {
    ("GET", "/api/v1/memberships"): {C, S},
    ("POST", "/api/v1/memberships"): {C, S},
    ("GET", "/api/v1/memberships/{membership_id}"): {C, S},
    ("PATCH", "/api/v1/memberships/{membership_id}"): {C, S},
    ("POST", "/api/v1/memberships/{membership_id}/end"): {C, S},
}
