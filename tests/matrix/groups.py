from tests.matrix.roles import USERS, C, S

# Trustees read groups and their records (no participant details in them); API keys have no access.
ROUTES = {
    ("GET", "/api/v1/groups"): USERS,
    ("POST", "/api/v1/groups"): {C, S},
    ("GET", "/api/v1/groups/{group_id}"): USERS,
    ("PATCH", "/api/v1/groups/{group_id}"): {C},
    ("POST", "/api/v1/groups/{group_id}/archive"): {C},
    ("GET", "/api/v1/groups/{group_id}/risk-assessments"): USERS,
    ("POST", "/api/v1/groups/{group_id}/risk-assessments"): {C, S},
    ("GET", "/api/v1/groups/{group_id}/reviews"): USERS,
    ("POST", "/api/v1/groups/{group_id}/reviews"): {C, S},
}
