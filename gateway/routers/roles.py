"""The permission catalogue and the roles (identity's RoleService)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from gateway.deps import Backends, ReplayableMetadata
from gateway.fields import NOT_BLANK, Permission
from gateway.paging import PageSize, PageToken, page_of
from gateway.schemas import RoleOut, role_out
from gateway.security import ANY_USER, CurrentCredential, needs
from vm.identity.v1 import roles_pb2 as pb

router = APIRouter(prefix="/api/v1", tags=["roles"])
TIMEOUT = 10.0
ROLES_MANAGE = needs("roles.manage")


class PermissionOut(BaseModel):
    id: str
    title: str
    company_level: bool


class CategoryOut(BaseModel):
    id: str
    title: str
    permissions: list[PermissionOut]


class PermissionCatalogue(BaseModel):
    categories: list[CategoryOut]


class RoleList(BaseModel):
    items: list[RoleOut]
    next_page_token: str = Field(description="empty after the last page")


class RoleIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=NOT_BLANK, examples=["Связист филиала"])
    permissions: list[Permission] = Field(min_length=1, max_length=50)


class RolePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=NOT_BLANK)
    permissions: list[Permission] | None = Field(default=None, min_length=1, max_length=50)


@router.get("/permissions", response_model=PermissionCatalogue, openapi_extra=ANY_USER)
async def list_permissions(
    backends: Backends, credential: CurrentCredential
) -> PermissionCatalogue:
    """The permission catalogue: categories with their checkboxes."""
    response = await backends.roles.ListPermissions(
        pb.ListPermissionsRequest(), metadata=credential.metadata, timeout=TIMEOUT
    )
    return PermissionCatalogue(
        categories=[
            CategoryOut(
                id=c.id,
                title=c.title,
                permissions=[
                    PermissionOut(id=p.id, title=p.title, company_level=p.company_level)
                    for p in c.permissions
                ],
            )
            for c in response.categories
        ]
    )


@router.get("/roles", response_model=RoleList, openapi_extra=ANY_USER)
async def list_roles(
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> RoleList:
    """The preset roles (read-only) and the company's custom roles."""
    response = await backends.roles.ListRoles(
        pb.ListRolesRequest(), metadata=credential.metadata, timeout=TIMEOUT
    )
    items, next_token = page_of(response.roles, page_size, page_token)
    return RoleList(items=[role_out(r) for r in items], next_page_token=next_token)


@router.post("/roles", status_code=201, response_model=RoleOut, openapi_extra=ROLES_MANAGE)
async def create_role(body: RoleIn, backends: Backends, metadata: ReplayableMetadata) -> RoleOut:
    """A custom role: a name and its permissions (the checkboxes)."""
    response = await backends.roles.CreateRole(
        pb.CreateRoleRequest(name=body.name, permissions=body.permissions),
        metadata=metadata,
        timeout=TIMEOUT,
    )
    return role_out(response.role)


@router.get("/roles/{role_id}", response_model=RoleOut, openapi_extra=ANY_USER)
async def get_role(role_id: str, backends: Backends, credential: CurrentCredential) -> RoleOut:
    """One role with its permissions."""
    response = await backends.roles.GetRole(
        pb.GetRoleRequest(role_id=role_id), metadata=credential.metadata, timeout=TIMEOUT
    )
    return role_out(response.role)


@router.patch("/roles/{role_id}", response_model=RoleOut, openapi_extra=ROLES_MANAGE)
async def update_role(
    role_id: str, body: RolePatch, backends: Backends, credential: CurrentCredential
) -> RoleOut:
    """Rename a custom role or change its permissions; preset roles cannot change."""
    message = pb.UpdateRoleRequest(role_id=role_id)
    if body.name is not None:
        message.name = body.name
    if body.permissions is not None:
        message.update_permissions = True
        message.permissions.extend(body.permissions)
    response = await backends.roles.UpdateRole(
        message, metadata=credential.metadata, timeout=TIMEOUT
    )
    return role_out(response.role)


@router.delete(
    "/roles/{role_id}", status_code=204, response_class=Response, openapi_extra=ROLES_MANAGE
)
async def delete_role(role_id: str, backends: Backends, credential: CurrentCredential) -> Response:
    """Delete a custom role that nobody holds."""
    await backends.roles.DeleteRole(
        pb.DeleteRoleRequest(role_id=role_id), metadata=credential.metadata, timeout=TIMEOUT
    )
    return Response(status_code=204)
