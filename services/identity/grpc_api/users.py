"""UserService: proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.identity.grpc_api.convert import assignments_from, status_name, user_message
from services.identity.service import IdentityCases
from services.kit.context import current_caller
from vm.identity.v1 import users_pb2 as pb
from vm.identity.v1 import users_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext


class UserServicer(pb_grpc.UserServiceServicer):
    def __init__(self, cases: IdentityCases) -> None:
        self._users = cases.users

    async def ListUsers(
        self, request: pb.ListUsersRequest, context: Context
    ) -> pb.ListUsersResponse:
        users, next_token = await self._users.list_users(
            current_caller(),
            request.page_size,
            request.page_token,
            request.query,
            status_name(request.status) or "",
        )
        return pb.ListUsersResponse(
            users=[user_message(u) for u in users], next_page_token=next_token
        )

    async def GetUser(self, request: pb.GetUserRequest, context: Context) -> pb.GetUserResponse:
        user = await self._users.get_user(current_caller(), request.user_id)
        return pb.GetUserResponse(user=user_message(user))

    async def CreateUser(
        self, request: pb.CreateUserRequest, context: Context
    ) -> pb.CreateUserResponse:
        user = await self._users.create_user(
            current_caller(),
            login=request.login,
            full_name=request.full_name,
            email=request.email,
            password=request.password,
            assignments=assignments_from(list(request.assignments)),
            phone=request.phone,
        )
        return pb.CreateUserResponse(user=user_message(user))

    async def UpdateUser(
        self, request: pb.UpdateUserRequest, context: Context
    ) -> pb.UpdateUserResponse:
        user = await self._users.update_user(
            current_caller(),
            request.user_id,
            full_name=request.full_name if request.HasField("full_name") else None,
            email=request.email if request.HasField("email") else None,
            status=status_name(request.status),
            phone=request.phone if request.HasField("phone") else None,
        )
        return pb.UpdateUserResponse(user=user_message(user))

    async def DeleteUser(
        self, request: pb.DeleteUserRequest, context: Context
    ) -> pb.DeleteUserResponse:
        await self._users.delete_user(current_caller(), request.user_id)
        return pb.DeleteUserResponse()

    async def SetUserAssignments(
        self, request: pb.SetUserAssignmentsRequest, context: Context
    ) -> pb.SetUserAssignmentsResponse:
        user = await self._users.set_assignments(
            current_caller(), request.user_id, assignments_from(list(request.assignments))
        )
        return pb.SetUserAssignmentsResponse(user=user_message(user))
