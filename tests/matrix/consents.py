from tests.matrix.roles import C, I, S

ROUTES = {
    ("GET", "/api/v1/consents"): {C, S, I},
    ("POST", "/api/v1/consents"): {C, S, I},
    ("GET", "/api/v1/consents/{consent_id}"): {C, S, I},
    ("POST", "/api/v1/consents/{consent_id}/withdraw"): {C, S, I},
    # Staff pass the role check, and the reach check refuses them (403): a push by the CRM's id needs every
    # consent in write reach, or a taken id would reveal a consent out of reach.
    ("PUT", "/api/v1/consents/by-external-id/{external_id}"): {C, S, I},
    ("GET", "/api/v1/participants/{participant_id}/consent-status"): {C, S, I},
    ("GET", "/api/v1/participants/{participant_id}/consent-check"): {C, S, I},
    ("POST", "/api/v1/consent-checks"): {C, S, I},
    ("POST", "/api/v1/publication-checks"): {C, S},
}
