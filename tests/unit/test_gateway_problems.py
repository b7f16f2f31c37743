"""The gateway's error mapping: domain errors, transport failures and crashes."""

from __future__ import annotations

import grpc
import httpx
import pytest
from grpc.aio import Metadata

from gateway.app import create_app
from gateway.problems import field_path
from services.kit.errors import (
    DomainError,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidArgument,
    NotAllowed,
    NotFound,
    PermissionDenied,
    RateLimited,
    to_grpc_status,
)
from services.kit.settings import Settings


def rpc_error_for(error: DomainError) -> grpc.aio.AioRpcError:
    status = to_grpc_status(error)
    return grpc.aio.AioRpcError(
        status.code, Metadata(), Metadata(*status.trailing_metadata), details=status.details
    )


def transport_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, Metadata(), Metadata(), details=details)


@pytest.fixture
async def client():
    app = create_app(Settings(env="test"))
    raised: dict[str, BaseException] = {}

    @app.get("/raise")
    async def raise_it() -> None:
        raise raised["error"]

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://gateway",
    ) as http:
        yield http, raised


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFound("no such account"), 404, "not_found"),
        (PermissionDenied("no"), 403, "permission_denied"),
        (NotAllowed("the account is blocked"), 409, "not_allowed"),
        (InsufficientFunds("not enough money"), 409, "insufficient_funds"),
        (IdempotencyKeyReused("other body"), 409, "idempotency_key_reused"),
        (InvalidArgument("bad", {"amount": "must be positive"}), 422, "validation_failed"),
        (RateLimited("slow down", 30), 429, "rate_limited"),
    ],
)
async def test_domain_errors_become_their_problem(client, error, status, code):
    http, raised = client
    raised["error"] = rpc_error_for(error)
    response = await http.get("/raise")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["detail"] == error.message


async def test_field_errors_and_retry_after_travel(client):
    http, raised = client
    raised["error"] = rpc_error_for(InvalidArgument("bad", {"amount": "must be positive"}))
    assert (await http.get("/raise")).json()["errors"] == [
        {"field": "amount", "message": "must be positive"}
    ]
    raised["error"] = rpc_error_for(RateLimited("slow down", 30))
    assert (await http.get("/raise")).headers["retry-after"] == "30"


async def test_a_domain_reason_outside_the_contract_keeps_the_status_code_and_says_why(client):
    http, raised = client
    raised["error"] = rpc_error_for(NotAllowed("already registered", reason="ALREADY_REGISTERED"))
    body = (await http.get("/raise")).json()
    assert body["code"] == "not_allowed"
    assert body["reason"] == "already_registered"


@pytest.mark.parametrize(
    ("code", "status", "problem"),
    [
        (grpc.StatusCode.UNAVAILABLE, 503, "unavailable"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 503, "unavailable"),
        (grpc.StatusCode.INTERNAL, 500, "internal"),
        (grpc.StatusCode.NOT_FOUND, 500, "internal"),
    ],
)
async def test_transport_failures_never_show_their_details(client, code, status, problem):
    http, raised = client
    raised["error"] = transport_error(code, "connect failed to 10.0.0.7:15051 secret-internal")
    response = await http.get("/raise")
    assert response.status_code == status
    assert response.json()["code"] == problem
    assert "10.0.0.7" not in response.text


async def test_an_unexpected_crash_is_500_without_a_trace(client):
    http, raised = client
    raised["error"] = RuntimeError("database password is hunter2")
    response = await http.get("/raise")
    assert response.status_code == 500
    assert response.json()["code"] == "internal"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text


async def test_a_domain_error_raised_in_the_gateway_itself_keeps_its_meaning(client):
    from services.kit.errors import Unavailable

    http, raised = client
    raised["error"] = Unavailable("identity did not give its signing keys")
    response = await http.get("/raise")
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"


@pytest.mark.parametrize(
    ("location", "body", "field"),
    [
        (("path", "msisdn"), None, "msisdn"),
        (("query", "page_size"), None, "page_size"),
        (("body", "msisdns", 1), {"msisdns": ["79161234567", "x"]}, "msisdns[1]"),
        (("body", "amount", "currency"), {"amount": {"amount": 1}}, "amount.currency"),
        # A tagged union's member: pydantic puts the tag in the location; the client's
        # body has no such key, so the field is the one the client sent.
        (("body", "email", "address"), {"method": "email", "address": "x"}, "address"),
        (("body", "email", "address"), {"method": "email"}, "address"),
        # A field that is called like a tag stays itself.
        (("body", "email"), {"email": "x"}, "email"),
        (("body",), None, "body"),
    ],
)
def test_a_field_is_named_as_the_services_name_it(location, body, field) -> None:
    assert field_path(location, body) == field
