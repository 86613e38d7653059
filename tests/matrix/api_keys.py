from tests.matrix.roles import C

ROUTES = {
    ("GET", "/api/v1/api-keys"): {C},
    ("POST", "/api/v1/api-keys"): {C},
    ("POST", "/api/v1/api-keys/{key_id}/revoke"): {C},
    ("POST", "/api/v1/api-keys/{key_id}/confirm"): {C},
    ("POST", "/api/v1/api-keys/{key_id}/rotate"): {C},
}
