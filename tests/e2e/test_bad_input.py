"""Bad input is the client's mistake: a 422 `validation_failed` problem, never a 500.

Every route that takes a JSON body is sent bytes that are not UTF-8, and a string holding
a lone UTF-16 surrogate; the routes that take a period are sent periods that are not
`YYYY-MM` (nor `{from, to}` dates).
"""

from __future__ import annotations

import secrets

import pytest

from gateway.app import create_app
from services.kit.settings import Settings
from tests.e2e.test_error_shapes import assert_problem
from tests.e2e.test_identity_flows import bearer, register

pytestmark = pytest.mark.e2e

SPEC = create_app(Settings(env="dev")).openapi()
# Routes whose body is JSON, with their path parameters filled with harmless values: the
# body is refused before anything is looked up.
JSON_ROUTES = sorted(
    (method.upper(), path)
    for path, operations in SPEC["paths"].items()
    for method, operation in operations.items()
    if "application/json" in operation.get("requestBody", {}).get("content", {})
)
PATH_VALUE = {"msisdn": "79160000000"}


def concrete(path: str) -> str:
    for name in ("msisdn", "user_id", "role_id", "node_id", "account_id", "ticket_id", "kind"):
        path = path.replace(f"{{{name}}}", PATH_VALUE.get(name, "x1"))
    for name, value in {
        "registration_id": "reg_x",
        "reset_id": "pwr_x",
        "condition": "busy",
    }.items():
        path = path.replace(f"{{{name}}}", value)
    return path


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    headers = bearer(await register(api, company))
    return {**headers, "idempotency-key": secrets.token_hex(8)}


def test_there_are_json_routes_to_try():
    assert len(JSON_ROUTES) > 30
    assert ("POST", "/api/v1/tickets") in JSON_ROUTES
    assert ("POST", "/api/v1/auth/password-resets") in JSON_ROUTES


async def test_a_body_that_is_not_utf8_is_422_on_every_json_route(api, admin):
    failures = []
    for method, path in JSON_ROUTES:
        response = await api.request(
            method,
            concrete(path),
            content=b'{"name": "\xff\xfe\xfa"}',
            headers={**admin, "content-type": "application/json"},
        )
        if response.status_code != 422 or response.json().get("code") != "validation_failed":
            failures.append((method, path, response.status_code, response.text[:200]))
    assert not failures, failures


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/roles", b'{"name": "\\ud800", "permissions": ["numbers.view"]}'),
        ("/api/v1/tickets", b'{"category": "other", "subject": "a\\udfff", "text": "b"}'),
        ("/api/v1/auth/password-resets", b'{"login": "x\\udc00y"}'),
    ],
)
async def test_a_lone_surrogate_is_422(api, admin, path, body):
    response = await api.post(
        path, content=body, headers={**admin, "content-type": "application/json"}
    )
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"][0]["field"] == "body"


async def test_a_surrogate_pair_is_a_character(api, admin):
    """An escaped astral character (here 😀) is fine: it is a pair, not a lone half."""
    response = await api.post(
        "/api/v1/roles",
        content=b'{"name": "\\ud83d\\ude00 role", "permissions": ["numbers.view"]}',
        headers={**admin, "content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "\U0001f600 role"


@pytest.mark.parametrize(
    "period",
    ["__main__", "2026-1", "202610", "2026-10-01", {"month": "October"}, {"from": "yesterday"}],
)
async def test_a_period_that_is_not_a_month_or_dates_is_422(api, admin, period):
    bodies = {
        "/api/v1/reports": {
            "type": "usage",
            "format": "csv",
            "msisdns": ["79160000000"],
            "period": period,
        },
        "/api/v1/documents": {"account_ids": ["acc_x"], "types": ["invoice"], "period": period},
    }
    for path, body in bodies.items():
        response = await api.post(
            path, json=body, headers={**admin, "idempotency-key": secrets.token_hex(8)}
        )
        problem = assert_problem(response, 422, "validation_failed")
        assert all(e["field"].startswith("period") for e in problem["errors"]), problem


async def test_a_month_in_the_right_shape_goes_on_to_documents(api, admin):
    """The shape is the gateway's to check; a month not begun yet is documents' to refuse,
    as a rule of today (409; it was 422, which a REST client reads as a malformed request)."""
    response = await api.post(
        "/api/v1/reports",
        json={"type": "usage", "format": "csv", "msisdns": ["79160000000"], "period": "2999-01"},
        headers={**admin, "idempotency-key": secrets.token_hex(8)},
    )
    problem = assert_problem(response, 409, "not_allowed")
    assert problem["reason"] == "period_not_begun", problem
