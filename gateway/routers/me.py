"""`GET /me`: the caller — user, company, effective permissions and scopes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from gateway.security import CurrentCredential
from vm.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/api/v1", tags=["me"])


class AssignmentOut(BaseModel):
    role_id: str
    node_id: str | None


class UserOut(BaseModel):
    id: str
    login: str
    full_name: str
    email: str
    status: str
    assignments: list[AssignmentOut]


class CompanyOut(BaseModel):
    id: str
    name: str
    inn: str
    kpp: str
    contract_number: str
    main_number: str


class ScopeOut(BaseModel):
    node_id: str | None
    permissions: list[str]


class MeOut(BaseModel):
    user: UserOut
    company: CompanyOut
    permissions: list[str]
    scopes: list[ScopeOut]


def user_out(user: pb.User) -> UserOut:
    return UserOut(
        id=user.id,
        login=user.login,
        full_name=user.full_name,
        email=user.email,
        status="active" if user.status == pb.USER_STATUS_ACTIVE else "deactivated",
        assignments=[
            AssignmentOut(role_id=a.role_id, node_id=a.node_id or None) for a in user.assignments
        ],
    )


@router.get("/me", response_model=MeOut)
async def me(request: Request, credential: CurrentCredential) -> MeOut:
    response = await request.app.state.backends.identity.GetMe(
        pb.GetMeRequest(), metadata=credential.metadata, timeout=10.0
    )
    company = response.company
    return MeOut(
        user=user_out(response.user),
        company=CompanyOut(
            id=company.id,
            name=company.name,
            inn=company.inn,
            kpp=company.kpp,
            contract_number=company.contract_number,
            main_number=company.main_number,
        ),
        permissions=list(response.permissions),
        scopes=[
            ScopeOut(node_id=s.node_id or None, permissions=list(s.permissions))
            for s in response.scopes
        ],
    )
