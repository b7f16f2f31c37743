"""`GET /me`: the caller — user (or API key), company, effective permissions and scopes."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.deps import Backends
from gateway.schemas import ApiKeyOut, UserOut, api_key_out, user_out
from gateway.security import ANY_USER, CurrentCredential
from vm.identity.v1 import profile_pb2 as pb

router = APIRouter(prefix="/api/v1", tags=["me"])


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
    user: UserOut | None = Field(description="the calling user; null for an API key")
    company: CompanyOut
    permissions: list[str]
    scopes: list[ScopeOut]
    api_key: ApiKeyOut | None = Field(
        default=None, description="the calling API key (instead of a user), if it is one"
    )


@router.get("/me", response_model=MeOut, openapi_extra=ANY_USER)
async def me(backends: Backends, credential: CurrentCredential) -> MeOut:
    """The caller: user, company, effective permissions and the scopes they hold in."""
    response = await backends.profile.GetMe(
        pb.GetMeRequest(), metadata=credential.metadata, timeout=10.0
    )
    company = response.company
    return MeOut(
        user=user_out(response.user) if response.HasField("user") else None,
        api_key=api_key_out(response.api_key) if response.HasField("api_key") else None,
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
