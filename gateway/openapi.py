"""The gateway's OpenAPI document, made for client generators.

- operationIds are stable camelCase names from the route functions (`listNumbers`,
  `createTransfer`, `getMe`), never FastAPI's path-derived ones;
- each tag is described (`TAGS`);
- each operation declares the problem+json answers it can give (`application/problem+json`
  with the `Problem` schema, whose `code` is an enum of the stable codes), and 422 is our
  Problem, not FastAPI's HTTPValidationError, which the gateway never sends.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from gateway.problems import MEDIA_TYPE, TITLES, problem_type

# Route functions whose names are not a verb and a noun, and what their operations are called.
OPERATION_IDS = {
    "healthz": "getHealth",
    "readyz": "getReadiness",
    "me": "getMe",
    "usage": "getUsage",
    "disable": "disableTwoFactor",
    "start_enrollment": "startTwoFactorEnrollment",
    "confirm_enrollment": "confirmTwoFactorEnrollment",
    "complete_mfa_login": "completeMfaLogin",
    "report_types": "listReportTypes",
    "document_types": "listDocumentTypes",
    "dev_messages": "listDevMessages",
    "dev_webhooks": "listDevWebhooks",
}

TAGS: list[dict[str, str]] = [
    {"name": "health", "description": "Whether the gateway and every service serve."},
    {
        "name": "auth",
        "description": "Registration of a company, login (with TOTP when on), token refresh, "
        "logout and password reset. Public: no token.",
    },
    {"name": "me", "description": "Who the caller is: user, company, permissions and scopes."},
    {"name": "settings", "description": "«Мои настройки»: own password and preferences."},
    {"name": "two-factor", "description": "Opt-in two-factor login with a TOTP app."},
    {"name": "users", "description": "The company's users and their role assignments."},
    {"name": "roles", "description": "The permission catalogue, preset and custom roles."},
    {"name": "audit", "description": "The audit log: every change, who, when, what."},
    {"name": "api keys", "description": "API keys of the company's own integrations."},
    {"name": "hierarchy", "description": "The company's tree of departments, branches, cities."},
    {
        "name": "catalogue",
        "description": "The operator's tariffs (with their settings) and services (with "
        "prices and compatibility rules).",
    },
    {
        "name": "numbers",
        "description": "The company's numbers: list and filter, the number card, labels, "
        "moves, export.",
    },
    {
        "name": "number operations",
        "description": "Changes of one number: tariff, services, blocks, forwarding, SIM and "
        "number replacement. Each answers when the network has confirmed it.",
    },
    {
        "name": "number billing",
        "description": "A number's account, spending limits and usage.",
    },
    {
        "name": "accounts",
        "description": "Personal accounts, statements, transfers, promised payments, "
        "settlement method and bill delivery. Money is kopecks.",
    },
    {
        "name": "operations",
        "description": "Bulk operations and SMS (202, run in the background) and the "
        "operation-results journal of every operation, with per-target results.",
    },
    {"name": "documents", "description": "Financial documents for accounts and a period."},
    {"name": "reports", "description": "Reports over numbers or a subtree, as XLSX, CSV or PDF."},
    {"name": "forms", "description": "Application-form templates, prefilled for the company."},
    {"name": "tickets", "description": "Tickets to the operator with their whole history."},
    {
        "name": "webhooks",
        "description": "The company's webhook endpoints: its events POSTed as the Standard "
        "Webhooks specification says, signed, retried for a day; deliveries with every attempt.",
    },
    {
        "name": "automation",
        "description": "Automation rules: when an event happens and a condition holds, block, "
        "unblock, set a limit, send an SMS or e-mail, call a webhook, open a ticket.",
    },
    {
        "name": "development",
        "description": "Only while VM_ENV=dev: the SMS and e-mails the system sent, and the "
        "webhook deliveries the local sink received.",
    },
]

ProblemCode = Literal[tuple(TITLES)]  # type: ignore[valid-type]


class FieldError(BaseModel):
    field: str = Field(description="the field at fault, dotted (`period.month`, `body`)")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable `code`."""

    type: str = Field(examples=[problem_type("validation_failed")])
    title: str
    status: int
    detail: str = Field(description="for people; never internals")
    code: ProblemCode  # type: ignore[valid-type]
    reason: str | None = Field(
        default=None, description="the service's more precise reason, e.g. already_blocked"
    )
    errors: list[FieldError] | None = Field(default=None, description="validation_failed only")


STATUS_DESCRIPTIONS = {
    400: "The request cannot be read.",
    401: "No valid credential (`unauthenticated`, with `WWW-Authenticate: Bearer`).",
    403: "The caller lacks the permission (`permission_denied`).",
    404: "No such object, or another company's (`not_found`).",
    409: "A business rule forbids it now (`conflict`, `not_allowed`, `insufficient_funds`, "
    "`idempotency_key_reused`, `idempotency_key_in_use`).",
    422: "The request is not valid (`validation_failed`, with `errors` by field).",
    429: "Too many requests (`rate_limited`, with `Retry-After`): the caller's rate limit (per "
    "user, per API key, or per client address without a credential; its `RateLimit-*` "
    "headers, which every answer under the limit carries too), or repeated failed logins.",
    503: "A service is not available right now (`unavailable`).",
}
_CHANGES = {"post", "put", "patch", "delete"}


def operation_id(route: APIRoute) -> str:
    if route.name in OPERATION_IDS:
        return OPERATION_IDS[route.name]
    head, *rest = route.name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def problem_statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The problems an operation can answer."""
    if not path.startswith("/api/"):
        return [422] if operation.get("parameters") else []
    access = operation.get("x-access", "")
    statuses = {401, 422, 429, 503}
    if access != "public":
        statuses.add(403)
    names_an_object = any(
        p.get("in") == "query" and p.get("name", "").endswith("_id")
        for p in operation.get("parameters", [])
    )
    if "{" in path or method in _CHANGES or names_an_object:
        statuses.add(404)
    if method in _CHANGES:
        statuses.add(409)
    return sorted(statuses)


def _integer_header(description: str, *, required: bool = False) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "integer"}}


# The headers of a 429 (gateway/rate_limits.py; the IETF draft's RateLimit fields). Retry-After
# is always there; RateLimit-* when the gateway's rate limit refused the request (not on a
# login throttled by identity).
RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "Retry-After": _integer_header("seconds to wait before trying again", required=True),
    "RateLimit-Limit": _integer_header("requests the caller's limit allows in its window"),
    "RateLimit-Remaining": _integer_header("requests left in the window"),
    "RateLimit-Reset": _integer_header(
        "seconds until a request fits again (none remains) or the current window ends"
    ),
    "RateLimit-Policy": {
        "description": "the limit and its window in seconds: `600;w=60`",
        "required": False,
        "schema": {"type": "string"},
    },
}


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": STATUS_DESCRIPTIONS[status],
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == 429:
        response["headers"] = {
            name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS
        }
    return response


def build_openapi(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=TAGS,
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(
        {
            name: schema
            for name, schema in Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            .pop("$defs", {})
            .items()
        }
    )
    spec["components"]["headers"] = dict(RATE_LIMIT_HEADERS)
    schemas["Problem"] = {
        k: v
        for k, v in Problem.model_json_schema(ref_template="#/components/schemas/{model}").items()
        if k != "$defs"
    }
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if "422" in responses and "HTTPValidationError" in str(responses["422"]):
                del responses["422"]
            for status in problem_statuses(path, method, operation):
                existing = responses.get(str(status), {})
                responses[str(status)] = {**existing, **_problem_response(status)}
    add_links(spec)
    return spec


# What a creation answers with 201 and where its id is, when the created object's own
# operations are not below the creation's path (202s start an operation of the journal).
_CREATED_ELSEWHERE = {
    "createApiKey": ("201", "/api/v1/api-keys", "/api_key/id"),
    "startOperation": ("202", "/api/v1/operations", "/id"),
    "sendSms": ("202", "/api/v1/operations", "/id"),
    "requestReport": ("202", "/api/v1/operations", "/id"),
    "requestDocuments": ("202", "/api/v1/operations", "/id"),
}


def _has_id(spec: dict[str, Any], response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    return "id" in schema.get("properties", {})


def add_links(spec: dict[str, Any]) -> None:
    """OpenAPI links from each creation (`POST /tickets` → 201 with an `id`) to every
    operation on the created object (`/tickets/{ticket_id}`, `/tickets/{ticket_id}/close`):
    a client, and the fuzzer's stateful phase, learn where the new id goes."""
    operations = [
        (path, method, operation)
        for path, methods in spec.get("paths", {}).items()
        for method, operation in methods.items()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    for path, method, operation in operations:
        if method != "post" or "{" in path:
            continue
        status, home, pointer = _CREATED_ELSEWHERE.get(
            operation["operationId"], ("201", path, "/id")
        )
        response = operation.get("responses", {}).get(status)
        if response is None or (pointer == "/id" and not _has_id(spec, response)):
            continue
        # one more segment, a parameter, then no other parameter
        below = re.compile(rf"^{re.escape(home)}/\{{(\w+)\}}(/[^{{}}]*)?$")
        links = {
            target["operationId"]: {
                "operationId": target["operationId"],
                "parameters": {f"path.{found.group(1)}": f"$response.body#{pointer}"},
            }
            for target_path, _, target in operations
            if (found := below.match(target_path))
        }
        if links:
            response["links"] = dict(sorted(links.items()))


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def camel_case(name: str) -> bool:
    return re.fullmatch(r"[a-z]+(?:[A-Z0-9][a-z0-9]*)*", name) is not None


OPENAPI_FILE = "openapi.json"


def openapi_text() -> str:
    """The production API's OpenAPI as committed (`make openapi`): no development routes."""
    import json

    from gateway.app import create_app
    from services.kit.settings import Settings

    spec = create_app(Settings(env="test")).openapi()
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    Path(OPENAPI_FILE).write_text(openapi_text(), encoding="utf-8")
    print(f"wrote {OPENAPI_FILE}")
