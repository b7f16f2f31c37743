"""Registration, login, refresh, logout (identity)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from gateway.deps import Backends
from gateway.fields import Email, Msisdn, NewPassword
from gateway.security import ANY_USER, PUBLIC, CurrentCredential
from services.kit.grpc_client import call_metadata
from vm.identity.v1 import auth_pb2 as pb
from vm.identity.v1 import resources_pb2

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
TIMEOUT = 10.0


class RegistrationIn(BaseModel):
    main_number: Msisdn = Field(examples=["+7 (916) 123-45-67"])
    email: Email


class RegistrationOut(BaseModel):
    registration_id: str
    expires_at: datetime


class RegistrationConfirmIn(BaseModel):
    sms_code: str = Field(min_length=1, max_length=16)
    email_code: str = Field(min_length=1, max_length=16)
    password: NewPassword


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=128, examples=["79161234567"])
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


def tokens_out(pair: resources_pb2.TokenPair) -> TokensOut:
    return TokensOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        token_type=pair.token_type or "Bearer",
    )


@router.post(
    "/registrations", status_code=202, response_model=RegistrationOut, openapi_extra=PUBLIC
)
async def start_registration(body: RegistrationIn, backends: Backends) -> RegistrationOut:
    """Start registration: a code goes by SMS to the main number and another by e-mail."""
    response = await backends.auth.StartRegistration(
        pb.StartRegistrationRequest(main_number=body.main_number, email=body.email),
        metadata=call_metadata(),
        timeout=TIMEOUT,
    )
    return RegistrationOut(
        registration_id=response.registration_id,
        expires_at=response.expires_at.ToDatetime(tzinfo=UTC),
    )


@router.post(
    "/registrations/{registration_id}/confirm", response_model=TokensOut, openapi_extra=PUBLIC
)
async def confirm_registration(
    registration_id: str, body: RegistrationConfirmIn, backends: Backends
) -> TokensOut:
    """Both codes and a password: creates the company's global administrator and logs in."""
    response = await backends.auth.ConfirmRegistration(
        pb.ConfirmRegistrationRequest(
            registration_id=registration_id,
            sms_code=body.sms_code,
            email_code=body.email_code,
            password=body.password,
        ),
        metadata=call_metadata(),
        timeout=TIMEOUT,
    )
    return tokens_out(response.tokens)


class MfaRequiredOut(BaseModel):
    mfa_required: bool = True
    mfa_token: str = Field(description="send it with the code to /auth/login/mfa; 5 minutes")


@router.post("/login", response_model=TokensOut | MfaRequiredOut, openapi_extra=PUBLIC)
async def login(body: LoginIn, backends: Backends) -> TokensOut | MfaRequiredOut:
    """Log in with the main number (or a user's login) and the password.

    With two-factor login on, the answer is `{mfa_required: true, mfa_token}` instead of
    tokens: `POST /auth/login/mfa` with the code from the app gives the tokens. Repeated
    failures are answered 429 with Retry-After."""
    response = await backends.auth.Login(
        pb.LoginRequest(login=body.login, password=body.password),
        metadata=call_metadata(),
        timeout=TIMEOUT,
    )
    if response.mfa_required:
        return MfaRequiredOut(mfa_token=response.mfa_token)
    return tokens_out(response.tokens)


@router.post("/refresh", response_model=TokensOut, openapi_extra=PUBLIC)
async def refresh(body: RefreshIn, backends: Backends) -> TokensOut:
    """A new token pair for a refresh token; the refresh token given stops working."""
    response = await backends.auth.RefreshSession(
        pb.RefreshSessionRequest(refresh_token=body.refresh_token),
        metadata=call_metadata(),
        timeout=TIMEOUT,
    )
    return tokens_out(response.tokens)


@router.post("/logout", status_code=204, response_class=Response, openapi_extra=ANY_USER)
async def logout(body: RefreshIn, backends: Backends, credential: CurrentCredential) -> Response:
    """End the session: the refresh token (and every one rotated from it) stops working."""
    await backends.auth.Logout(
        pb.LogoutRequest(refresh_token=body.refresh_token),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return Response(status_code=204)


# ---------------------------------------------------------------- forgotten password


class PasswordResetIn(BaseModel):
    login: str = Field(min_length=1, max_length=128, examples=["79161234567"])


class PasswordResetOut(BaseModel):
    reset_id: str
    expires_at: datetime


class PasswordResetConfirmIn(BaseModel):
    code: str = Field(min_length=1, max_length=16)
    new_password: NewPassword


@router.post(
    "/password-resets", status_code=202, response_model=PasswordResetOut, openapi_extra=PUBLIC
)
async def start_password_reset(body: PasswordResetIn, backends: Backends) -> PasswordResetOut:
    """Forgotten password: a code goes by SMS to a main-number login, by e-mail otherwise.
    The answer is the same whether or not the login exists."""
    response = await backends.auth.StartPasswordReset(
        pb.StartPasswordResetRequest(login=body.login),
        metadata=call_metadata(),
        timeout=TIMEOUT,
    )
    return PasswordResetOut(
        reset_id=response.reset_id, expires_at=response.expires_at.ToDatetime(tzinfo=UTC)
    )


@router.post(
    "/password-resets/{reset_id}/confirm",
    status_code=204,
    response_class=Response,
    openapi_extra=PUBLIC,
)
async def confirm_password_reset(
    reset_id: str, body: PasswordResetConfirmIn, backends: Backends
) -> Response:
    """The code and a new password; every session of the user ends."""
    await backends.auth.ConfirmPasswordReset(
        pb.ConfirmPasswordResetRequest(
            reset_id=reset_id, code=body.code, new_password=body.new_password
        ),
        metadata=call_metadata(),
        timeout=TIMEOUT,
    )
    return Response(status_code=204)
