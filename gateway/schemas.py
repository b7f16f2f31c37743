"""REST shapes of resources that several routers answer with, and their proto mapping."""

from __future__ import annotations

from pydantic import BaseModel, Field

from vm.identity.v1 import resources_pb2

STATUS_NAMES = {
    resources_pb2.USER_STATUS_ACTIVE: "active",
    resources_pb2.USER_STATUS_DEACTIVATED: "deactivated",
}
STATUS_VALUES = {name: value for value, name in STATUS_NAMES.items()}


class Assignment(BaseModel):
    role_id: str = Field(min_length=1, max_length=64)
    node_id: str | None = Field(
        default=None, max_length=64, description="a hierarchy node; none for the whole company"
    )


class UserOut(BaseModel):
    id: str
    login: str
    full_name: str
    email: str
    status: str
    assignments: list[Assignment]


class RoleOut(BaseModel):
    id: str
    name: str
    permissions: list[str]
    preset: bool


def assignment_messages(assignments: list[Assignment]) -> list[resources_pb2.RoleAssignment]:
    return [
        resources_pb2.RoleAssignment(role_id=a.role_id, node_id=a.node_id or "")
        for a in assignments
    ]


def user_out(user: resources_pb2.User) -> UserOut:
    return UserOut(
        id=user.id,
        login=user.login,
        full_name=user.full_name,
        email=user.email,
        status=STATUS_NAMES.get(user.status, "active"),
        assignments=[
            Assignment(role_id=a.role_id, node_id=a.node_id or None) for a in user.assignments
        ],
    )


def role_out(role: resources_pb2.Role) -> RoleOut:
    return RoleOut(
        id=role.id, name=role.name, permissions=list(role.permissions), preset=role.preset
    )
