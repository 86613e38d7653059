from tests.matrix.roles import C

ROUTES = {
    ("GET", "/api/v1/policy-settings"): {C},
    ("PUT", "/api/v1/policy-settings"): {C},
}
