from tests.matrix.roles import USERS, C

ROUTES = {
    ("GET", "/api/v1/compliance/rules"): USERS,
    ("GET", "/api/v1/compliance"): USERS,
    ("GET", "/api/v1/compliance/waivers"): USERS,
    ("POST", "/api/v1/compliance/waivers"): {C},
    ("POST", "/api/v1/compliance/waivers/{waiver_id}/revoke"): {C},
    ("GET", "/api/v1/groups/{group_id}/compliance"): USERS,
    ("GET", "/api/v1/staff/{staff_id}/compliance"): USERS,
    ("GET", "/api/v1/compliance/forecast"): USERS,
    ("GET", "/api/v1/groups/{group_id}/compliance/forecast"): USERS,
    ("GET", "/api/v1/compliance/history"): USERS,
    ("GET", "/api/v1/compliance/export"): USERS,
    ("GET", "/api/v1/groups/{group_id}/compliance/export"): USERS,
    ("GET", "/api/v1/groups/{group_id}/compliance/history"): USERS,
}
