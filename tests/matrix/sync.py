from tests.matrix.roles import I

# Bulk sync is the CRM's door: only an API key with the sync:write scope.
ROUTES = {
    ("POST", "/api/v1/sync/staff"): {I},
    ("POST", "/api/v1/sync/participants"): {I},
    ("POST", "/api/v1/sync/consents"): {I},
}
