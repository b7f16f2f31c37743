"""The gateway's OpenAPI is fit for a client generator, and the committed openapi.json is
the app's."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.openapi import OPENAPI_FILE, camel_case, openapi_text
from gateway.paging import page_of
from gateway.problems import TITLES, Problem, problem_response
from services.kit.errors import ERROR_DOMAIN, PROBLEM_TYPE_BASE
from services.kit.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SPEC = create_app(Settings(env="dev")).openapi()
OPERATIONS = [
    (method, path, operation)
    for path, operations in SPEC["paths"].items()
    for method, operation in operations.items()
]


def test_operation_ids_are_stable_camel_case_and_unique():
    ids = [op["operationId"] for _, _, op in OPERATIONS]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not camel_case(i)] == []
    by_route = {f"{m.upper()} {p}": op["operationId"] for m, p, op in OPERATIONS}
    assert by_route["GET /api/v1/numbers"] == "listNumbers"
    assert by_route["POST /api/v1/transfers"] == "createTransfer"
    assert by_route["GET /api/v1/me"] == "getMe"
    assert by_route["POST /api/v1/operations"] == "startOperation"


def test_every_operation_is_described_and_every_tag_too():
    assert [f"{m} {p}" for m, p, op in OPERATIONS if not op.get("description")] == []
    described = {t["name"]: t.get("description") for t in SPEC["tags"]}
    used = {tag for _, _, op in OPERATIONS for tag in op.get("tags", [])}
    assert used <= set(described), used - set(described)
    assert all(described.values())


def test_problems_are_declared_as_problem_json_and_never_as_fastapis_validation_error():
    assert "HTTPValidationError" not in str(SPEC)
    problem = SPEC["components"]["schemas"]["Problem"]
    assert problem["properties"]["code"]["enum"] == list(TITLES)
    for method, path, operation in OPERATIONS:
        if not path.startswith("/api/"):
            continue
        responses = operation["responses"]
        expected = {"401", "422", "429", "503"}
        if operation["x-access"] != "public":
            expected.add("403")
        if "{" in path:
            expected.add("404")
        if method != "get":
            expected |= {"404", "409"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            content = responses[status]["content"]
            assert list(content) == ["application/problem+json"], (method, path, status)
            assert content["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }


def test_every_post_that_creates_something_takes_an_idempotency_key():
    """201/202 answers create something, and a single-number change starts an operation;
    the public sign-in flows create no object a client could duplicate (each step is its own
    code or session)."""
    changes_a_number = {"connectService", "setBlock", "replaceSim", "replaceNumber", "moveNumbers"}
    creating = [
        (path, op)
        for method, path, op in OPERATIONS
        if method == "post"
        and (
            ({"201", "202"} & set(op["responses"]) and not path.startswith("/api/v1/auth/"))
            or op["operationId"] in changes_a_number
        )
    ]
    assert len(creating) == 22
    without = [
        path
        for path, op in creating
        if not any(
            p["in"] == "header" and p["name"] == "Idempotency-Key" for p in op.get("parameters", [])
        )
    ]
    assert without == []


def test_every_list_pages_the_same_way():
    lists = []
    for method, path, operation in OPERATIONS:
        ok = operation["responses"].get("200", {}).get("content", {}).get("application/json")
        if method != "get" or not ok:
            continue
        ref = ok["schema"].get("$ref", "").rsplit("/", 1)[-1]
        schema = SPEC["components"]["schemas"].get(ref, {})
        if "items" not in schema.get("properties", {}) or path.startswith("/dev/"):
            continue
        lists.append(path)
        params = {p["name"] for p in operation.get("parameters", [])}
        assert {"page_size", "page_token"} <= params, path
        assert "next_page_token" in schema["properties"], path
    for path in ("/api/v1/roles", "/api/v1/api-keys", "/api/v1/tariffs", "/api/v1/services"):
        assert path in lists
    assert "/api/v1/forms" in lists
    assert "/api/v1/accounts/{account_id}/promised-payments" in lists
    assert "/api/v1/numbers/{msisdn}/limits" in lists


def test_a_complete_list_is_paged_by_the_gateway():
    items = list(range(7))
    first, token = page_of(items, 3, "")
    second, token2 = page_of(items, 3, token)
    third, token3 = page_of(items, 3, token2)
    assert (first, second, third, token3) == ([0, 1, 2], [3, 4, 5], [6], "")
    assert page_of(items, 0, "") == (items, "")
    for bad in ("!!!", "eyJvIjotMX0", "bnVsbA", "WzFd"):  # garbage, {"o":-1}, null, [1]
        if bad == "bnVsbA":  # null decodes as no token: the first page
            continue
        with pytest.raises(Problem) as refused:
            page_of(items, 3, bad)
        assert refused.value.code == "validation_failed"


def test_the_problem_type_base_is_a_setting_and_the_error_domain_its_host():
    assert Settings().problem_type_base == "https://problems.virtual-manager.ru/"
    assert PROBLEM_TYPE_BASE == "https://problems.virtual-manager.ru/"
    assert ERROR_DOMAIN == "problems.virtual-manager.ru"
    body = problem_response("not_allowed", "no").body
    assert b'"type":"https://problems.virtual-manager.ru/not-allowed"' in body


def test_the_committed_openapi_is_the_apps():
    committed = (ROOT / OPENAPI_FILE).read_text(encoding="utf-8")
    current = openapi_text()
    if committed != current:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                current.splitlines(keepends=True),
                "openapi.json (committed)",
                "openapi.json (the app's)",
                n=2,
            )
        )
        pytest.fail(
            f"{OPENAPI_FILE} is not the gateway's OpenAPI: run `make openapi` and commit "
            f"{OPENAPI_FILE}.\n{diff[:4000]}"
        )
