from tests.matrix.roles import USERS, C, S

ROUTES = {
    ("GET", "/api/v1/staff/{staff_id}/declarations"): USERS,
    ("POST", "/api/v1/staff/{staff_id}/declarations"): {C, S},
}
