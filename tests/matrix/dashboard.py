from tests.matrix.roles import OPEN, USERS

# Pages for people: the same permission as the compliance routes (a bearer token or the session cookie).
ROUTES = {
    ("GET", "/dashboard"): USERS,
    ("GET", "/dashboard/groups/{group_id}"): USERS,
    ("GET", "/dashboard/report.xlsx"): USERS,
    ("GET", "/dashboard/groups/{group_id}/findings.csv"): USERS,
    ("GET", "/dashboard/sign-in"): OPEN,
    ("POST", "/dashboard/sign-in"): OPEN,
    ("POST", "/dashboard/sign-out"): OPEN,
    # Any other address under /dashboard: a 404 (or 405) page for anyone, naming nothing.
    **{(m, "/dashboard/{rest:path}"): OPEN for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")},
}
