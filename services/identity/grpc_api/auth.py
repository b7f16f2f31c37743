"""AuthService: proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.identity.grpc_api.convert import timestamp, token_pair
from services.identity.service import IdentityCases
from services.identity.service.two_factor import MfaRequired
from services.kit.context import current_caller
from vm.identity.v1 import auth_pb2 as pb
from vm.identity.v1 import auth_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext


class AuthServicer(pb_grpc.AuthServiceServicer):
    def __init__(self, cases: IdentityCases) -> None:
        self._auth = cases.auth
        self._passwords = cases.passwords

    async def StartRegistration(
        self, request: pb.StartRegistrationRequest, context: Context
    ) -> pb.StartRegistrationResponse:
        registration = await self._auth.start_registration(request.main_number, request.email)
        return pb.StartRegistrationResponse(
            registration_id=registration.id, expires_at=timestamp(registration.expires_at)
        )

    async def ConfirmRegistration(
        self, request: pb.ConfirmRegistrationRequest, context: Context
    ) -> pb.ConfirmRegistrationResponse:
        tokens = await self._auth.confirm_registration(
            request.registration_id, request.sms_code, request.email_code, request.password
        )
        return pb.ConfirmRegistrationResponse(tokens=token_pair(tokens))

    async def Login(self, request: pb.LoginRequest, context: Context) -> pb.LoginResponse:
        outcome = await self._auth.login(request.login, request.password)
        if isinstance(outcome, MfaRequired):
            return pb.LoginResponse(mfa_required=True, mfa_token=outcome.mfa_token)
        return pb.LoginResponse(tokens=token_pair(outcome))

    async def CompleteMfaLogin(
        self, request: pb.CompleteMfaLoginRequest, context: Context
    ) -> pb.CompleteMfaLoginResponse:
        tokens = await self._auth.complete_mfa_login(request.mfa_token, request.code)
        return pb.CompleteMfaLoginResponse(tokens=token_pair(tokens))

    async def RefreshSession(
        self, request: pb.RefreshSessionRequest, context: Context
    ) -> pb.RefreshSessionResponse:
        tokens = await self._auth.refresh(request.refresh_token)
        return pb.RefreshSessionResponse(tokens=token_pair(tokens))

    async def Logout(self, request: pb.LogoutRequest, context: Context) -> pb.LogoutResponse:
        await self._auth.logout(current_caller(), request.refresh_token)
        return pb.LogoutResponse()

    # ---------------------------------------------------------------- forgotten password

    async def StartPasswordReset(
        self, request: pb.StartPasswordResetRequest, context: Context
    ) -> pb.StartPasswordResetResponse:
        reset = await self._passwords.start_reset(request.login)
        return pb.StartPasswordResetResponse(
            reset_id=reset.id, expires_at=timestamp(reset.expires_at)
        )

    async def ConfirmPasswordReset(
        self, request: pb.ConfirmPasswordResetRequest, context: Context
    ) -> pb.ConfirmPasswordResetResponse:
        await self._passwords.confirm_reset(request.reset_id, request.code, request.new_password)
        return pb.ConfirmPasswordResetResponse()
