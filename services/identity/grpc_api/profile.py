"""ProfileService ("My settings"): proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.identity.domain import ALL_PERMISSIONS, Preferences
from services.identity.grpc_api.api_keys import api_key_message
from services.identity.grpc_api.convert import company_message, scopes_message, user_message
from services.identity.service import IdentityCases
from services.kit.context import current_caller
from vm.identity.v1 import profile_pb2 as pb
from vm.identity.v1 import profile_pb2_grpc as pb_grpc
from vm.identity.v1 import resources_pb2

Context = grpc.aio.ServicerContext


class ProfileServicer(pb_grpc.ProfileServiceServicer):
    def __init__(self, cases: IdentityCases) -> None:
        self._profile = cases.profile
        self._passwords = cases.passwords
        self._preferences = cases.preferences
        self._two_factor = cases.two_factor

    async def GetMe(self, request: pb.GetMeRequest, context: Context) -> pb.GetMeResponse:
        me = await self._profile.me(current_caller())
        held = me.access.permissions
        return pb.GetMeResponse(
            user=user_message(me.user) if me.user else None,
            api_key=api_key_message(me.api_key) if me.api_key else None,
            company=company_message(me.company),
            permissions=[p for p in ALL_PERMISSIONS if p in held],
            scopes=scopes_message(me.access),
        )

    # ---------------------------------------------------------------- password, home screen

    async def ChangePassword(
        self, request: pb.ChangePasswordRequest, context: Context
    ) -> pb.ChangePasswordResponse:
        await self._passwords.change_password(
            current_caller(), request.current_password, request.new_password
        )
        return pb.ChangePasswordResponse()

    async def GetPreferences(
        self, request: pb.GetPreferencesRequest, context: Context
    ) -> pb.GetPreferencesResponse:
        preferences = await self._preferences.get(current_caller())
        return pb.GetPreferencesResponse(preferences=_preferences_message(preferences))

    async def UpdatePreferences(
        self, request: pb.UpdatePreferencesRequest, context: Context
    ) -> pb.UpdatePreferencesResponse:
        preferences = await self._preferences.update(
            current_caller(), list(request.preferences.pinned), request.preferences.locale
        )
        return pb.UpdatePreferencesResponse(preferences=_preferences_message(preferences))

    # ---------------------------------------------------------------- two-factor login

    async def StartTwoFactorEnrollment(
        self, request: pb.StartTwoFactorEnrollmentRequest, context: Context
    ) -> pb.StartTwoFactorEnrollmentResponse:
        enrollment = await self._two_factor.start_enrollment(current_caller())
        return pb.StartTwoFactorEnrollmentResponse(
            secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri
        )

    async def ConfirmTwoFactorEnrollment(
        self, request: pb.ConfirmTwoFactorEnrollmentRequest, context: Context
    ) -> pb.ConfirmTwoFactorEnrollmentResponse:
        await self._two_factor.confirm_enrollment(current_caller(), request.code)
        return pb.ConfirmTwoFactorEnrollmentResponse()

    async def DisableTwoFactor(
        self, request: pb.DisableTwoFactorRequest, context: Context
    ) -> pb.DisableTwoFactorResponse:
        await self._two_factor.disable(current_caller(), request.code)
        return pb.DisableTwoFactorResponse()


def _preferences_message(preferences: Preferences) -> resources_pb2.Preferences:
    return resources_pb2.Preferences(pinned=list(preferences.pinned), locale=preferences.locale)
