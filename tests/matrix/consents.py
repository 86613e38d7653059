from tests.matrix.roles import C, I, S

ROUTES = {
    ("GET", "/api/v1/consents"): {C, S, I},
    ("POST", "/api/v1/consents"): {C, S, I},
    ("GET", "/api/v1/consents/{consent_id}"): {C, S, I},
    ("POST", "/api/v1/consents/{consent_id}/withdraw"): {C, S, I},
    ("GET", "/api/v1/participants/{participant_id}/consent-status"): {C, S, I},
    ("GET", "/api/v1/participants/{participant_id}/consent-check"): {C, S, I},
    ("POST", "/api/v1/consent-checks"): {C, S, I},
    ("POST", "/api/v1/publication-checks"): {C, S},
}
