from tests.matrix.roles import C

ROUTES = {
    ("GET", "/api/v1/api-keys"): {C},
    ("POST", "/api/v1/api-keys"): {C},
    ("POST", "/api/v1/api-keys/{key_id}/revoke"): {C},
}
