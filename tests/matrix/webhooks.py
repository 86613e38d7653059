from tests.matrix.roles import C

ROUTES = {
    ("GET", "/api/v1/webhooks"): {C},
    ("POST", "/api/v1/webhooks"): {C},
    ("GET", "/api/v1/webhooks/{webhook_id}"): {C},
    ("POST", "/api/v1/webhooks/{webhook_id}/disable"): {C},
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): {C},
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): {C},
    ("POST", "/api/v1/webhooks/{webhook_id}/enable"): {C},
    ("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret"): {C},
    ("POST", "/api/v1/webhooks/{webhook_id}/test"): {C},
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): {C},
}
