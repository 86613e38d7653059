from tests.matrix.roles import C, I

ROUTES = {
    ("GET", "/api/v1/changes"): {C, I},
}
