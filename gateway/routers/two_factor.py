"""Two-factor login with a TOTP app (identity): enrol, confirm, turn off; the login's
second step."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, Field

from gateway.deps import Backends
from gateway.problems import Problem
from gateway.routers.auth import TokensOut, tokens_out
from gateway.security import ANY_USER, PUBLIC, CurrentCredential
from services.kit.grpc_client import call_metadata
from vm.identity.v1 import auth_pb2, profile_pb2

router = APIRouter(prefix="/api/v1", tags=["two-factor"])
TIMEOUT = 10.0

Code = Field(min_length=1, max_length=16, examples=["123456"])


class MfaLoginIn(BaseModel):
    mfa_token: str = Field(min_length=1, max_length=256)
    code: str = Code


class EnrollmentOut(BaseModel):
    secret: str = Field(description="base32; shown once")
    otpauth_uri: str = Field(description="for a QR code the app scans")


class CodeIn(BaseModel):
    code: str = Code


@router.post("/auth/login/mfa", response_model=TokensOut, tags=["auth"], openapi_extra=PUBLIC)
async def complete_mfa_login(body: MfaLoginIn, backends: Backends) -> TokensOut:
    """The code from the app for the `mfa_token` that login gave: the tokens.

    A wrong code is 422 (field `code`); an expired, used-up or completed `mfa_token` is 401."""
    response = await backends.auth.CompleteMfaLogin(
        auth_pb2.CompleteMfaLoginRequest(mfa_token=body.mfa_token, code=body.code),
        metadata=call_metadata(),
        timeout=TIMEOUT,
    )
    return tokens_out(response.tokens)


@router.post("/me/2fa", response_model=EnrollmentOut, openapi_extra=ANY_USER)
async def start_enrollment(backends: Backends, credential: CurrentCredential) -> EnrollmentOut:
    """Start enrolling a TOTP app: the secret and its otpauth:// URI. Two-factor login is
    on only after `POST /me/2fa/confirm` with a code from the app."""
    response = await backends.profile.StartTwoFactorEnrollment(
        profile_pb2.StartTwoFactorEnrollmentRequest(),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return EnrollmentOut(secret=response.secret, otpauth_uri=response.otpauth_uri)


@router.post("/me/2fa/confirm", status_code=204, response_class=Response, openapi_extra=ANY_USER)
async def confirm_enrollment(
    body: CodeIn, backends: Backends, credential: CurrentCredential
) -> Response:
    """A current code from the app: two-factor login is on from now."""
    await backends.profile.ConfirmTwoFactorEnrollment(
        profile_pb2.ConfirmTwoFactorEnrollmentRequest(code=body.code),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return Response(status_code=204)


@router.delete("/me/2fa", status_code=204, response_class=Response, openapi_extra=ANY_USER)
async def disable(
    backends: Backends,
    credential: CurrentCredential,
    body: Annotated[CodeIn | None, Body()] = None,
    code: Annotated[str | None, Query(min_length=1, max_length=16)] = None,
) -> Response:
    """Turn two-factor login off with a current code (in the body `{code}`, or `?code=`)."""
    given = body.code if body else code
    if not given:
        raise Problem(
            "validation_failed",
            "a current code is needed",
            errors=[{"field": "code", "message": "the code from the app"}],
        )
    await backends.profile.DisableTwoFactor(
        profile_pb2.DisableTwoFactorRequest(code=given),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return Response(status_code=204)
