"""API keys for the company's own integrations (identity's ApiKeyService).

A key is used as `Authorization: Bearer vmk_...` on any route; it may do what its role
allows in its scope. It is shown once, in the answer that creates it.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from gateway.deps import Backends, ReplayableMetadata
from gateway.fields import NOT_BLANK
from gateway.paging import PageSize, PageToken, page_of
from gateway.schemas import ApiKeyOut, api_key_out
from gateway.security import CurrentCredential, needs
from vm.identity.v1 import api_keys_pb2 as pb
from vm.identity.v1 import resources_pb2

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])
TIMEOUT = 10.0
API_KEYS_MANAGE = needs("api_keys.manage")


class ApiKeyIn(BaseModel):
    name: str = Field(
        min_length=1, max_length=100, pattern=NOT_BLANK, examples=["1С: выгрузка номеров"]
    )
    role_id: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK, examples=["viewer"])
    node_id: str | None = Field(
        default=None, max_length=64, description="a hierarchy node; none for the whole company"
    )


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
    next_page_token: str = Field(description="empty after the last page")


class NewApiKey(BaseModel):
    api_key: ApiKeyOut
    key: str = Field(description="the key itself: shown this once, keep it secret")


@router.get("", response_model=ApiKeyList, openapi_extra=API_KEYS_MANAGE)
async def list_api_keys(
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> ApiKeyList:
    """The company's active keys (revoked ones are gone)."""
    response = await backends.api_keys.ListApiKeys(
        pb.ListApiKeysRequest(), metadata=credential.metadata, timeout=TIMEOUT
    )
    items, next_token = page_of(response.api_keys, page_size, page_token)
    return ApiKeyList(items=[api_key_out(k) for k in items], next_page_token=next_token)


@router.post("", status_code=201, response_model=NewApiKey, openapi_extra=API_KEYS_MANAGE)
async def create_api_key(
    body: ApiKeyIn, backends: Backends, metadata: ReplayableMetadata
) -> NewApiKey:
    """A new key with one role in one scope; you cannot give it more than you hold."""
    response = await backends.api_keys.CreateApiKey(
        pb.CreateApiKeyRequest(
            name=body.name,
            assignment=resources_pb2.RoleAssignment(
                role_id=body.role_id, node_id=body.node_id or ""
            ),
        ),
        metadata=metadata,
        timeout=TIMEOUT,
    )
    return NewApiKey(api_key=api_key_out(response.api_key), key=response.key)


@router.delete(
    "/{api_key_id}", status_code=204, response_class=Response, openapi_extra=API_KEYS_MANAGE
)
async def revoke_api_key(
    api_key_id: str, backends: Backends, credential: CurrentCredential
) -> Response:
    """Revoke a key: identity refuses it at once; the gateway within its cache period
    (`VM_API_KEY_CACHE_SECONDS`, 30 s by default)."""
    await backends.api_keys.RevokeApiKey(
        pb.RevokeApiKeyRequest(api_key_id=api_key_id), metadata=credential.metadata, timeout=TIMEOUT
    )
    return Response(status_code=204)
