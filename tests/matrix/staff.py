from tests.matrix.roles import EVERYONE, C, I

ROUTES = {
    ("GET", "/api/v1/staff"): EVERYONE,
    ("POST", "/api/v1/staff"): {C, I},
    ("GET", "/api/v1/staff/{staff_id}"): EVERYONE,
    ("PATCH", "/api/v1/staff/{staff_id}"): {C, I},
    ("POST", "/api/v1/staff/{staff_id}/leave"): {C, I},
    ("PUT", "/api/v1/staff/by-external-id/{external_id}"): {C, I},
    ("PATCH", "/api/v1/staff/by-external-id/{external_id}"): {C, I},
}
