from tests.matrix.roles import C

ROUTES = {
    ("GET", "/api/v1/webhooks"): {C},
    ("POST", "/api/v1/webhooks"): {C},
    ("GET", "/api/v1/webhooks/{webhook_id}"): {C},
    ("POST", "/api/v1/webhooks/{webhook_id}/disable"): {C},
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): {C},
}
