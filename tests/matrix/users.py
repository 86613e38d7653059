from tests.matrix.roles import C

ROUTES = {
    ("GET", "/api/v1/users"): {C},
    ("POST", "/api/v1/users"): {C},
    ("GET", "/api/v1/users/{user_id}"): {C},
    ("PATCH", "/api/v1/users/{user_id}"): {C},
}
