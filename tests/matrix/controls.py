from tests.matrix.roles import USERS, C, S

ROUTES = {
    ("GET", "/api/v1/controls"): USERS,
    ("GET", "/api/v1/controls/{control_id}"): USERS,
    ("PATCH", "/api/v1/controls/{control_id}"): {C},
    ("GET", "/api/v1/controls/{control_id}/checks"): USERS,
    ("POST", "/api/v1/controls/{control_id}/checks"): {C, S},
    ("GET", "/api/v1/technologies"): USERS,
    ("POST", "/api/v1/technologies"): {C},
    ("GET", "/api/v1/technologies/{technology_id}"): USERS,
    ("PATCH", "/api/v1/technologies/{technology_id}"): {C},
    ("GET", "/api/v1/technologies/{technology_id}/assessments"): USERS,
    ("POST", "/api/v1/technologies/{technology_id}/assessments"): {C, S},
}
