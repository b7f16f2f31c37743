"""Every error the gateway gives is problem+json with a stable code, never a stack trace."""

from __future__ import annotations

import base64
import json
import time

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.kit.errors import read_remote_error
from tests.e2e.test_identity_flows import bearer, register
from vm.identity.v1 import companies_pb2, companies_pb2_grpc, profile_pb2, profile_pb2_grpc

pytestmark = pytest.mark.e2e
PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert {"type", "title", "detail"} <= set(body)
    assert "Traceback" not in response.text
    return body


async def test_unknown_route_is_404_not_found(api):
    assert_problem(await api.get("/api/v1/no-such-thing"), 404, "not_found")


async def test_wrong_method_is_405(api):
    assert_problem(await api.get("/api/v1/auth/login"), 405, "method_not_allowed")


async def test_missing_and_mistyped_fields_are_422_with_each_field(api):
    body = assert_problem(
        await api.post("/api/v1/auth/login", json={"login": 5}), 422, "validation_failed"
    )
    assert {e["field"] for e in body["errors"]} == {"login", "password"}


async def test_malformed_json_is_422(api):
    response = await api.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "validation_failed")


async def test_bad_main_number_and_email_are_422_by_field(api):
    response = await api.post(
        "/api/v1/auth/registrations", json={"main_number": "12-34", "email": "nope"}
    )
    body = assert_problem(response, 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {"main_number", "email"}


async def test_unknown_registration_is_404(api):
    response = await api.post(
        "/api/v1/auth/registrations/reg_nope/confirm",
        json={"sms_code": "1", "email_code": "2", "password": "long-enough-1"},
    )
    assert_problem(response, 404, "not_found")


async def test_me_without_a_token_is_401_with_www_authenticate(api):
    response = await api.get("/api/v1/me")
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def forged_tokens(real_token: str) -> dict[str, str]:
    """Tokens an attacker could make: none of them may be accepted."""
    header = jwt.get_unverified_header(real_token)
    claims = jwt.decode(real_token, options={"verify_signature": False})
    other_key = Ed25519PrivateKey.generate()
    now = int(time.time())
    return {
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "wrong_signature": jwt.encode(
            claims, other_key, algorithm="EdDSA", headers={"kid": header["kid"]}
        ),
        "unknown_kid": jwt.encode(
            claims, other_key, algorithm="EdDSA", headers={"kid": "no-such-key"}
        ),
        "hs256_with_public_kid": jwt.encode(
            claims,
            "secret-secret-secret-secret-32b!",
            algorithm="HS256",
            headers={"kid": header["kid"]},
        ),
        "tampered_company": real_token.rsplit(".", 2)[0].split(".")[0]
        + "."
        + _b64({**claims, "cid": "cmp_other"})
        + "."
        + real_token.rsplit(".", 1)[1],
        "garbage": "not-a-token",
        "expired_resigned_elsewhere": jwt.encode(
            {**claims, "exp": now - 60},
            other_key,
            algorithm="EdDSA",
            headers={"kid": header["kid"]},
        ),
    }


async def test_forged_tokens_are_401_at_the_gateway(api, company):
    tokens = await register(api, company)
    for name, token in forged_tokens(tokens["access_token"]).items():
        response = await api.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.json()["code"] == "unauthenticated", name


async def test_services_verify_tokens_themselves(api, company, identity_channel):
    """Zero trust: a forged token sent straight to a service, past the gateway, fails too."""
    tokens = await register(api, company)
    stub = profile_pb2_grpc.ProfileServiceStub(identity_channel)
    for name, token in forged_tokens(tokens["access_token"]).items():
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetMe(
                profile_pb2.GetMeRequest(), metadata=(("authorization", f"Bearer {token}"),)
            )
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, name
        assert read_remote_error(refused.value).reason == "UNAUTHENTICATED", name
    real = await stub.GetMe(
        profile_pb2.GetMeRequest(), metadata=(("authorization", bearer(tokens)["authorization"]),)
    )
    assert real.company.id == company.id


async def test_a_company_users_token_cannot_call_the_operators_methods(
    api, company, identity_channel
):
    tokens = await register(api, company)
    stub = companies_pb2_grpc.CompanyServiceStub(identity_channel)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetCompany(
            companies_pb2.GetCompanyRequest(company_id=company.id),
            metadata=(("authorization", bearer(tokens)["authorization"]),),
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_request_id_is_echoed(api):
    response = await api.get("/healthz", headers={"x-request-id": "req-123"})
    assert response.headers["x-request-id"] == "req-123"
    generated = await api.get("/healthz")
    assert len(generated.headers["x-request-id"]) >= 8
