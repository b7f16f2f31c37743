"""ApiKeyService: proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.identity.domain import ApiKey, Assignment
from services.identity.grpc_api.convert import assignment_message, timestamp
from services.identity.service import IdentityCases
from services.kit.context import current_caller
from vm.identity.v1 import api_keys_pb2 as pb
from vm.identity.v1 import api_keys_pb2_grpc as pb_grpc
from vm.identity.v1 import resources_pb2

Context = grpc.aio.ServicerContext


def api_key_message(key: ApiKey) -> resources_pb2.ApiKey:
    """What a key's holder and its managers may see: never the secret nor its digest."""
    message = resources_pb2.ApiKey(
        id=key.id,
        name=key.name,
        assignment=assignment_message(key.assignment),
        prefix=key.prefix,
        created_at=timestamp(key.created_at),
        created_by=key.created_by,
    )
    if key.last_used_at is not None:
        message.last_used_at.CopyFrom(timestamp(key.last_used_at))
    return message


class ApiKeyServicer(pb_grpc.ApiKeyServiceServicer):
    def __init__(self, cases: IdentityCases) -> None:
        self._keys = cases.api_keys

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: Context
    ) -> pb.ListApiKeysResponse:
        keys = await self._keys.list_keys(current_caller())
        return pb.ListApiKeysResponse(api_keys=[api_key_message(k) for k in keys])

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: Context
    ) -> pb.CreateApiKeyResponse:
        assignment = Assignment(
            role_id=request.assignment.role_id, node_id=request.assignment.node_id or None
        )
        key, secret_key = await self._keys.create_key(current_caller(), request.name, assignment)
        return pb.CreateApiKeyResponse(api_key=api_key_message(key), key=secret_key)

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: Context
    ) -> pb.RevokeApiKeyResponse:
        await self._keys.revoke_key(current_caller(), request.api_key_id)
        return pb.RevokeApiKeyResponse()

    async def ExchangeApiKey(
        self, request: pb.ExchangeApiKeyRequest, context: Context
    ) -> pb.ExchangeApiKeyResponse:
        exchanged = await self._keys.exchange(request.key)
        return pb.ExchangeApiKeyResponse(
            access_token=exchanged.access_token, expires_in=exchanged.expires_in
        )
