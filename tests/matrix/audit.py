from tests.matrix.roles import C

ROUTES = {
    ("GET", "/api/v1/audit-events"): {C},
}
