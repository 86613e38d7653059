from tests.matrix.roles import C, I, S, T

# Reach narrows further (api/auth/reach.py, `roster`): staff read their groups' rosters and upload, resolve
# and apply those of the groups they admin; trustees read counts only; a platform connector's key uploads.
ROUTES = {
    ("GET", "/api/v1/groups/{group_id}/rosters"): {C, S, T},
    ("POST", "/api/v1/groups/{group_id}/rosters"): {C, S, I},
    ("GET", "/api/v1/groups/{group_id}/rosters/{roster_id}"): {C, S, T},
    # Answering for an entry and applying are people's judgement: no key does them.
    ("POST", "/api/v1/groups/{group_id}/rosters/{roster_id}/entries/{roster_entry_id}/resolve"): {C, S},
    ("POST", "/api/v1/groups/{group_id}/rosters/{roster_id}/apply"): {C, S},
}
