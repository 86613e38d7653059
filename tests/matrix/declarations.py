from tests.matrix.roles import USERS

ROUTES = {
    ("GET", "/api/v1/staff/{staff_id}/declarations"): USERS,
    ("POST", "/api/v1/staff/{staff_id}/declarations"): USERS,
}
