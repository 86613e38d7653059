from tests.matrix.roles import USERS, C

ROUTES = {
    ("GET", "/api/v1/policy-settings"): {C},
    ("PUT", "/api/v1/policy-settings"): {C},
    ("GET", "/api/v1/policy/versions"): USERS,
    ("POST", "/api/v1/policy/versions"): {C},
    ("POST", "/api/v1/policy/versions/preview"): {C},
    ("POST", "/api/v1/policy/versions/{version_number}/withdraw"): {C},
    ("GET", "/api/v1/policy/versions/{version_number}"): USERS,
    ("GET", "/api/v1/policy/versions/{version_number}/diff"): USERS,
    ("GET", "/api/v1/policy/coverage"): USERS,
}
