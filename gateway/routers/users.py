"""Users of the company and their role assignments (identity's UserService)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from gateway.deps import Backends, ReplayableMetadata
from gateway.fields import LOGIN_PATTERN, NOT_BLANK, Email, NewPassword, OptionalMsisdn
from gateway.paging import PageToken
from gateway.schemas import STATUS_VALUES, Assignment, UserOut, assignment_messages, user_out
from gateway.security import CurrentCredential, needs
from vm.identity.v1 import resources_pb2
from vm.identity.v1 import users_pb2 as pb

router = APIRouter(prefix="/api/v1/users", tags=["users"])
TIMEOUT = 10.0
USERS_MANAGE = needs("users.manage")


class UserIn(BaseModel):
    login: str = Field(
        min_length=3,
        max_length=64,
        pattern=LOGIN_PATTERN,
        description="3 to 64 characters: Latin letters, digits, '.', '-', '_', from a letter",
        examples=["ivanova.a"],
    )
    full_name: str = Field(
        min_length=1, max_length=200, pattern=NOT_BLANK, examples=["Иванова Анна Сергеевна"]
    )
    email: Email
    password: NewPassword
    assignments: list[Assignment] = Field(default_factory=list, max_length=50)
    phone: OptionalMsisdn = Field(
        default="",
        description="the user's own mobile number, where SMS notices reach them "
        "(any usual form); empty or absent: none",
    )


class UserPatch(BaseModel):
    full_name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NOT_BLANK)
    email: Email | None = None
    status: Literal["active", "deactivated"] | None = None
    phone: OptionalMsisdn | None = Field(
        default=None,
        description="the user's own mobile number (any usual form); an empty one clears it",
    )


class UserPage(BaseModel):
    items: list[UserOut]
    next_page_token: str


@router.get("", response_model=UserPage, openapi_extra=USERS_MANAGE)
async def list_users(
    backends: Backends,
    credential: CurrentCredential,
    page_size: int = Query(default=0, ge=0, le=500),
    page_token: PageToken = "",
    q: str = Query(
        default="",
        max_length=100,
        description="Search: words in the login, the full name or the e-mail (case aside), "
        "or a phone number in any usual form (8 916 123-45-67, +7 (916) 123-45-67, or a part "
        "of its digits)",
    ),
    status: Literal["active", "deactivated"] | None = None,
) -> UserPage:
    """The company's users with their role assignments."""
    response = await backends.users.ListUsers(
        pb.ListUsersRequest(
            page_size=page_size,
            page_token=page_token,
            query=q,
            status=STATUS_VALUES.get(status or "", resources_pb2.USER_STATUS_UNSPECIFIED),
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return UserPage(
        items=[user_out(u) for u in response.users], next_page_token=response.next_page_token
    )


@router.post("", status_code=201, response_model=UserOut, openapi_extra=USERS_MANAGE)
async def create_user(body: UserIn, backends: Backends, metadata: ReplayableMetadata) -> UserOut:
    """A new user of the company, with a password and role assignments (no more than the caller
    holds)."""
    response = await backends.users.CreateUser(
        pb.CreateUserRequest(
            login=body.login,
            full_name=body.full_name,
            email=body.email,
            password=body.password,
            assignments=assignment_messages(body.assignments),
            phone=body.phone,
        ),
        metadata=metadata,
        timeout=TIMEOUT,
    )
    return user_out(response.user)


@router.get("/{user_id}", response_model=UserOut, openapi_extra=USERS_MANAGE)
async def get_user(user_id: str, backends: Backends, credential: CurrentCredential) -> UserOut:
    """One user of the company with their role assignments."""
    response = await backends.users.GetUser(
        pb.GetUserRequest(user_id=user_id), metadata=credential.metadata, timeout=TIMEOUT
    )
    return user_out(response.user)


@router.patch("/{user_id}", response_model=UserOut, openapi_extra=USERS_MANAGE)
async def update_user(
    user_id: str, body: UserPatch, backends: Backends, credential: CurrentCredential
) -> UserOut:
    """Change a user's name, e-mail, mobile number or status (deactivating ends their
    sessions)."""
    message = pb.UpdateUserRequest(
        user_id=user_id,
        status=STATUS_VALUES.get(body.status or "", resources_pb2.USER_STATUS_UNSPECIFIED),
    )
    if body.full_name is not None:
        message.full_name = body.full_name
    if body.email is not None:
        message.email = body.email
    if body.phone is not None:
        message.phone = body.phone
    response = await backends.users.UpdateUser(
        message, metadata=credential.metadata, timeout=TIMEOUT
    )
    return user_out(response.user)


@router.delete("/{user_id}", status_code=204, response_class=Response, openapi_extra=USERS_MANAGE)
async def delete_user(user_id: str, backends: Backends, credential: CurrentCredential) -> Response:
    """Delete a user of the company; their sessions end."""
    await backends.users.DeleteUser(
        pb.DeleteUserRequest(user_id=user_id), metadata=credential.metadata, timeout=TIMEOUT
    )
    return Response(status_code=204)


@router.put("/{user_id}/assignments", response_model=UserOut, openapi_extra=USERS_MANAGE)
async def set_assignments(
    user_id: str, body: list[Assignment], backends: Backends, credential: CurrentCredential
) -> UserOut:
    """Replace the user's roles, each with its scope (the whole company or a subtree)."""
    response = await backends.users.SetUserAssignments(
        pb.SetUserAssignmentsRequest(user_id=user_id, assignments=assignment_messages(body)),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return user_out(response.user)
