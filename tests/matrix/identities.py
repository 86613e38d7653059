from tests.matrix.roles import C, I, S, T

# Read with the person's own reach (trustees: staff only; a young person's only by those who read them);
# written with write reach over the person (staff: their own).
ROUTES = {
    ("GET", "/api/v1/identities"): {C, S, T, I},
    ("POST", "/api/v1/identities"): {C, S, I},
    ("POST", "/api/v1/identities/{identity_id}/end"): {C, S, I},
    # The permission admits staff; the service answers them 404 (only a coordinator or the CRM verifies).
    ("POST", "/api/v1/identities/{identity_id}/verify"): {C, S, I},
}
