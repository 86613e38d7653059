"""The one place that mounts every domain's router, with its prefix and tag."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from api.accounts.api_key_router import router as api_key_router
from api.accounts.router import router as auth_router
from api.accounts.user_router import router as user_router
from api.audit.router import router as audit_router
from api.changes.router import router as changes_router
from api.compliance.coverage_router import router as coverage_router
from api.compliance.router import router as compliance_router
from api.consents.router import checks_router as consent_checks_router
from api.consents.router import participant_router as participant_consents_router
from api.consents.router import router as consents_router
from api.controls.router import controls_router, technologies_router
from api.declarations.router import router as declarations_router
from api.demo import ids
from api.errors import COMMON_ERRORS
from api.groups.router import router as groups_router
from api.identities.router import router as identities_router
from api.incidents.router import router as incidents_router
from api.input_checks import refuse_malformed_input
from api.memberships.router import router as memberships_router
from api.participants.router import router as participants_router
from api.policy.router import router as policy_router
from api.policy.versions_router import router as policy_versions_router
from api.rosters.router import router as rosters_router
from api.staff.router import router as staff_router
from api.sync.router import router as sync_router
from api.webhooks.router import router as webhooks_router

API_PREFIX = "/api/v1"

# Every domain's router, in the order FastAPI tries them, with its prefix under /api/v1 and its tag. The
# compliance router has no prefix: it serves /compliance/... and the /groups/{id}/compliance and
# /staff/{id}/compliance reports. It comes second: FastAPI tries routes in order, and every route passed over
# costs the compliance reports, the hottest reads, a little (bench/README.md); none of its paths can shadow
# another router's.
API_ROUTERS: tuple[tuple[APIRouter, str, str], ...] = (
    (auth_router, "/auth", "auth"),
    (compliance_router, "", "compliance"),
    (staff_router, "/staff", "staff"),
    (declarations_router, "/staff", "declarations"),
    (policy_router, "/policy-settings", "policy"),
    (policy_versions_router, "/policy", "policy"),
    (coverage_router, "/policy", "policy"),
    (sync_router, "/sync", "sync"),
    (groups_router, "/groups", "groups"),
    (rosters_router, "/groups", "rosters"),
    (participants_router, "/participants", "participants"),
    (memberships_router, "/memberships", "memberships"),
    (identities_router, "/identities", "identities"),
    (user_router, "/users", "users"),
    (api_key_router, "/api-keys", "api-keys"),
    (audit_router, "/audit-events", "audit"),
    (consents_router, "/consents", "consents"),
    (participant_consents_router, "/participants", "consents"),
    (consent_checks_router, "", "consents"),
    (incidents_router, "/incidents", "incidents"),
    (changes_router, "/changes", "changes"),
    (webhooks_router, "/webhooks", "webhooks"),
    (controls_router, "/controls", "controls"),
    (technologies_router, "/technologies", "controls"),
)


def include_api(app: FastAPI) -> None:
    """Mount every domain router on the app itself under /api/v1, not inside one /api/v1 router: FastAPI
    walks every router nested under the one it matches on each request, so a router of routers made every
    request pay for all of them (bench/README.md, "Signed-in request, session 5"). Every /api route refuses
    a control character where a person meant none, and a query parameter it does not take (a filter
    misspelt or misplaced would otherwise be answered as if applied, and echoed in `Link`)."""
    for router, prefix, tag in API_ROUTERS:
        app.include_router(
            router,
            prefix=API_PREFIX + prefix,
            tags=[tag],
            responses=COMMON_ERRORS,
            dependencies=[Depends(refuse_malformed_input)],
        )


# Each path parameter, and each query parameter a route declares without a description of its own, as the
# spec describes it; a path parameter's example is a record of the demo (api/demo/ids.py), so "Try it out"
# finds it in `make run`'s data.
PARAMETERS: dict[str, tuple[str, object | None]] = {
    "group_id": ("The online group's id", ids.YOUNG_PRODUCERS),
    "staff_id": ("The member of staff's id", ids.TOM_HALLETT),
    "participant_id": ("The young person's id", ids.LENA_JESSOP),
    "membership_id": ("The membership's id", ids.LENA_IN_YOUNG_PRODUCERS),
    "consent_id": ("The consent's id", ids.REUBEN_IMAGES),
    "incident_id": ("The incident's id", ids.SHOWCASE_PHOTO_INCIDENT),
    "user_id": ("The user account's id", ids.TOM_HALLETT_ACCOUNT),
    "identity_id": ("The platform identity's id", ids.PRIYA_DISCORD_HANDLE),
    "roster_id": ("The uploaded member list's id", ids.BEAT_LAB_ROSTER),
    "roster_entry_id": ("The member list entry's id", ids.BEAT_LAB_UNKNOWN_ENTRY),
    # No example: the controls are made by a migration, with ids of their own in each database.
    "control_id": ("The control's id (GET /api/v1/controls lists them)", None),
    "technology_id": ("The technology's id", ids.SOUNDTRAP),
    "external_id": ("The CRM's own id for the record (unique per kind of record)", None),
    "key_id": ("The API key's id", ids.CRM_SYNC_KEY),
    "webhook_id": ("The webhook endpoint's id", ids.CRM_WEBHOOK),
    "delivery_id": ("One delivery's id (from the endpoint's delivery log)", ids.CRM_TEST_DELIVERY),
    "waiver_id": ("The compliance waiver's id", None),
    "entry_id": ("The chronology entry's id", ids.VENUE_PHOTO_ENTRY),
    "version_number": ("The policy version's number (1, 2, 3 ... in publication order)", 1),
    "code": ("A problem code (the `code` of a problem document)", "not_found"),
    # Query parameters of the compliance routes, which describe the others they take themselves.
    "platform": ("Only groups on this platform", None),
    "interval": ("The step between points: week or month", None),
    "rule_id": ("Only waivers of this rule (a group rule's id, e.g. GRP-PERIODIC-REVIEW)", None),
}
# Where a name stands for another record on some paths: the member list routes are Beat Lab's (the demo group
# with an uploaded list), and a version can be withdrawn only if published for a later day (version 2, once
# the publish example has run). An `external_id` is the one its request body's example names.
PATH_EXAMPLES: dict[tuple[str, str], object] = {
    ("/rosters", "group_id"): ids.BEAT_LAB,
    ("/withdraw", "version_number"): 2,
    # Verifying takes a claim nobody has verified yet: Tom's own, on Instagram.
    ("/verify", "identity_id"): ids.TOM_INSTAGRAM_CLAIM,
}
# The sign-in form (OAuth 2.0's password grant, RFC 6749 section 4.3), as Swagger UI's Authorize fills it.
SIGN_IN_FORM = {
    "grant_type": "Always `password` when sent",
    "username": "The email address you sign in with",
    "password": "Your password",
    "scope": "Not used: what you may do follows from your role",
    "client_id": "Not used",
    "client_secret": "Not used",
}


def _body_example(schema: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    """The first example of an operation's JSON request body's model, or {}."""
    media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
    examples = schema["components"]["schemas"].get(name, {}).get("examples", [{}])
    return examples[0] if examples and isinstance(examples[0], dict) else {}


def describe_parameters(schema: dict[str, Any]) -> None:
    """Describe, in the generated spec, every parameter left undescribed by its route (see `PARAMETERS`),
    give each path parameter its demo example, and describe the sign-in form's fields."""
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                name = parameter["name"]
                found = PARAMETERS.get(name)
                if found is None:
                    continue
                description, example = found
                parameter.setdefault("description", description)
                if parameter["in"] != "path":
                    continue
                for (part, named), instead in PATH_EXAMPLES.items():
                    if named == name and part in path:
                        example = instead
                if name == "external_id":
                    # The body's record, else (a PATCH, whose body names no id) the route's own example.
                    example = _body_example(schema, operation).get("external_id") or next(
                        iter(parameter["schema"].get("examples", [])), None
                    )
                if example is not None:
                    parameter.setdefault("example", example if isinstance(example, int) else str(example))
    form = schema["components"]["schemas"].get("Body_sign_in", {}).get("properties", {})
    for name, description in SIGN_IN_FORM.items():
        if name in form:
            form[name]["description"] = description


def order_examples(schema: dict[str, Any]) -> None:
    """Put each example's fields in its model's field order (pydantic sorts an example's keys alphabetically
    when it writes the schema): Swagger UI's "Try it out" and generated docs then read in the model's order.
    Nested objects (a roster's entries) follow their own models."""
    components = schema["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[-1]]
        for branch in node.get("anyOf", []):
            if "$ref" in branch or "properties" in branch:
                return resolve(branch)
        return node

    def reorder(value: Any, node: dict[str, Any]) -> Any:
        node = resolve(node)
        if isinstance(value, list):
            return [reorder(item, node.get("items", {})) for item in value]
        if not isinstance(value, dict) or "properties" not in node:
            return value
        fields = list(node["properties"])
        keys = sorted(value, key=lambda k: fields.index(k) if k in fields else len(fields))
        return {k: reorder(value[k], node["properties"].get(k, {})) for k in keys}

    for model in components.values():
        if isinstance(model.get("examples"), list):
            model["examples"] = [reorder(example, model) for example in model["examples"]]
    for operations in schema["paths"].values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                for named in media.get("examples", {}).values():
                    if "value" in named:
                        named["value"] = reorder(named["value"], media.get("schema", {}))
