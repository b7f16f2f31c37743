"""ProfileService ("My settings"): proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.identity.domain import ALL_PERMISSIONS
from services.identity.grpc_api.convert import company_message, scopes_message, user_message
from services.identity.service import IdentityCases
from services.kit.context import current_caller
from vm.identity.v1 import profile_pb2 as pb
from vm.identity.v1 import profile_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext


class ProfileServicer(pb_grpc.ProfileServiceServicer):
    def __init__(self, cases: IdentityCases) -> None:
        self._profile = cases.profile

    async def GetMe(self, request: pb.GetMeRequest, context: Context) -> pb.GetMeResponse:
        me = await self._profile.me(current_caller())
        held = me.access.permissions
        return pb.GetMeResponse(
            user=user_message(me.user),
            company=company_message(me.company),
            permissions=[p for p in ALL_PERMISSIONS if p in held],
            scopes=scopes_message(me.access),
        )
