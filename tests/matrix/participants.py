from tests.matrix.roles import C, I, S

# Trustees are absent on purpose: they never see a child's name or contact details.
ROUTES = {
    ("GET", "/api/v1/participants"): {C, S, I},
    ("POST", "/api/v1/participants"): {C, I},
    ("GET", "/api/v1/participants/{participant_id}"): {C, S, I},
    ("PATCH", "/api/v1/participants/{participant_id}"): {C, I},
    ("POST", "/api/v1/participants/{participant_id}/leave"): {C, I},
    ("PUT", "/api/v1/participants/by-external-id/{external_id}"): {C, I},
    ("PATCH", "/api/v1/participants/by-external-id/{external_id}"): {C, I},
}
