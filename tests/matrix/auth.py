from tests.matrix.roles import OPEN, USERS

ROUTES = {
    ("POST", "/api/v1/auth/token"): OPEN,
    ("GET", "/api/v1/auth/me"): USERS,
    ("POST", "/api/v1/auth/password"): USERS,
}
