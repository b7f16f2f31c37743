"""RoleService: proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.identity.domain import CATEGORY_TITLES, PERMISSION_TITLES, PERMISSIONS
from services.identity.grpc_api.convert import is_company_level, role_message
from services.identity.service import IdentityCases
from services.kit.context import current_caller
from vm.identity.v1 import resources_pb2
from vm.identity.v1 import roles_pb2 as pb
from vm.identity.v1 import roles_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

_CATALOGUE = [
    resources_pb2.PermissionCategory(
        id=category,
        title=CATEGORY_TITLES[category],
        permissions=[
            resources_pb2.Permission(
                id=p, title=PERMISSION_TITLES[p], company_level=is_company_level(p)
            )
            for p in permissions
        ],
    )
    for category, permissions in PERMISSIONS.items()
]


class RoleServicer(pb_grpc.RoleServiceServicer):
    def __init__(self, cases: IdentityCases) -> None:
        self._roles = cases.roles
        self._access = cases.access

    async def ListPermissions(
        self, request: pb.ListPermissionsRequest, context: Context
    ) -> pb.ListPermissionsResponse:
        await self._access.access_of_caller(current_caller())
        return pb.ListPermissionsResponse(categories=_CATALOGUE)

    async def ListRoles(
        self, request: pb.ListRolesRequest, context: Context
    ) -> pb.ListRolesResponse:
        roles = await self._roles.list_roles(current_caller())
        return pb.ListRolesResponse(roles=[role_message(r) for r in roles])

    async def GetRole(self, request: pb.GetRoleRequest, context: Context) -> pb.GetRoleResponse:
        role = await self._roles.get_role(current_caller(), request.role_id)
        return pb.GetRoleResponse(role=role_message(role))

    async def CreateRole(
        self, request: pb.CreateRoleRequest, context: Context
    ) -> pb.CreateRoleResponse:
        role = await self._roles.create_role(
            current_caller(), request.name, list(request.permissions)
        )
        return pb.CreateRoleResponse(role=role_message(role))

    async def UpdateRole(
        self, request: pb.UpdateRoleRequest, context: Context
    ) -> pb.UpdateRoleResponse:
        role = await self._roles.update_role(
            current_caller(),
            request.role_id,
            name=request.name if request.HasField("name") else None,
            permissions=list(request.permissions) if request.update_permissions else None,
        )
        return pb.UpdateRoleResponse(role=role_message(role))

    async def DeleteRole(
        self, request: pb.DeleteRoleRequest, context: Context
    ) -> pb.DeleteRoleResponse:
        await self._roles.delete_role(current_caller(), request.role_id)
        return pb.DeleteRoleResponse()
