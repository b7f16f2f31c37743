"""The key source every service but identity uses: identity's `GetSigningKeys` RPC."""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from services.kit.auth import KeySource
from services.kit.errors import Unavailable
from vm.identity.v1 import trust_pb2, trust_pb2_grpc


def identity_key_source(channel: grpc.aio.Channel) -> KeySource:
    stub = trust_pb2_grpc.TrustServiceStub(channel)

    async def fetch() -> Mapping[str, str]:
        try:
            response = await stub.GetSigningKeys(trust_pb2.GetSigningKeysRequest(), timeout=5)
        except grpc.aio.AioRpcError as error:
            raise Unavailable("identity did not give its signing keys") from error
        return {key.kid: key.public_key_pem for key in response.keys}

    return fetch
