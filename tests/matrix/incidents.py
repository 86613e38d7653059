from tests.matrix.roles import C, S, T

I = "/api/v1/incidents"  # noqa: E741
ONE = f"{I}/{{incident_id}}"

# Trustees reach only the statistics; integration keys reach nothing here.
ROUTES = {
    ("GET", I): {C, S},
    ("POST", I): {C, S},
    ("GET", f"{I}/stats"): {C, T},
    ("GET", ONE): {C, S},
    ("PATCH", ONE): {C},
    ("POST", f"{ONE}/transitions"): {C},
    ("GET", f"{ONE}/timeline"): {C, S},
    ("GET", f"{ONE}/entries"): {C, S},
    ("POST", f"{ONE}/entries"): {C, S},
    ("GET", f"{ONE}/entries/{{entry_id}}"): {C, S},
    ("GET", f"{ONE}/notifications"): {C, S},
    ("POST", f"{ONE}/notifications"): {C, S},
    ("GET", f"{ONE}/referrals"): {C},
    ("POST", f"{ONE}/referrals"): {C},
    ("GET", f"{ONE}/views"): {C},
}
