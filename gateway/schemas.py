"""REST shapes of resources that several routers answer with, and their proto mapping."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field

from vm.identity.v1 import resources_pb2


def moment(stamp: Timestamp) -> datetime:
    """A proto timestamp as an aware UTC datetime."""
    return stamp.ToDatetime(tzinfo=UTC)


def optional_moment(message: object, name: str) -> datetime | None:
    """The message's timestamp field `name`, or None when it is unset."""
    return moment(getattr(message, name)) if message.HasField(name) else None  # type: ignore[attr-defined]


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
    two_factor_enabled: bool = False
    phone: str | None = Field(
        description="the user's own mobile number (11 digits, 79161234567), where SMS "
        "notices reach them; null when they have none",
        examples=["79161234567"],
    )


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
        two_factor_enabled=user.two_factor_enabled,
        phone=user.phone or None,
    )


def role_out(role: resources_pb2.Role) -> RoleOut:
    return RoleOut(
        id=role.id, name=role.name, permissions=list(role.permissions), preset=role.preset
    )


class ApiKeyOut(BaseModel):
    """An API key as listed: never the key itself, only its first characters."""

    id: str
    name: str
    role_id: str
    node_id: str | None = Field(description="a hierarchy node; none for the whole company")
    prefix: str = Field(description="the key's first characters, to recognise it by")
    created_at: datetime
    created_by: str = Field(description="the user (or API key) that made it")
    last_used_at: datetime | None = Field(description="to the minute; none if never used")


def api_key_out(key: resources_pb2.ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        role_id=key.assignment.role_id,
        node_id=key.assignment.node_id or None,
        prefix=key.prefix,
        created_at=key.created_at.ToDatetime(tzinfo=UTC),
        created_by=key.created_by,
        last_used_at=(
            key.last_used_at.ToDatetime(tzinfo=UTC) if key.HasField("last_used_at") else None
        ),
    )
