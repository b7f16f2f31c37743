"""API keys as bearer credentials: the gateway exchanges a key (`vmk_...`) at identity for
a short-lived access token and forwards that token to the services.

The token is kept in this process, per key, so that most requests do not call identity:
for `VM_API_KEY_CACHE_SECONDS` (30 s by default) and never past a little before the token
expires. That period is how long a revoked key may still pass the gateway; identity itself
refuses a revoked key's token at once. Entries are found by the SHA-256 of the key (the
key itself is not kept), the oldest go first beyond `max_entries`, and concurrent first
requests with one key share one exchange.
"""

from __future__ import annotations

import hashlib

import grpc

from services.kit.cache import SharedLoadCache
from services.kit.errors import Unauthenticated
from services.kit.grpc_client import call_metadata
from vm.identity.v1 import api_keys_pb2, api_keys_pb2_grpc

# Drop a token this long before it expires: it must still be valid when a service checks it.
EXPIRY_MARGIN_SECONDS = 15
EXCHANGE_TIMEOUT_SECONDS = 5.0


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyTokens:
    def __init__(
        self,
        stub: api_keys_pb2_grpc.ApiKeyServiceStub,
        *,
        ttl_seconds: float,
        max_entries: int = 10_000,
    ) -> None:
        self._stub = stub
        self._ttl = ttl_seconds
        self._tokens: SharedLoadCache[str, str] = SharedLoadCache(max_entries=max_entries)

    def __len__(self) -> int:
        return len(self._tokens)

    def known(self, key: str) -> bool:
        """Whether an access token for the key is kept (its next use asks identity nothing)."""
        return self._tokens.peek(key_digest(key)) is not None

    async def token_for(self, key: str) -> str:
        """An access token for the key; UNAUTHENTICATED when identity refuses the key."""
        return await self._tokens.get(key_digest(key), lambda: self._exchange(key))

    async def _exchange(self, key: str) -> tuple[str, float]:
        try:
            answer = await self._stub.ExchangeApiKey(
                api_keys_pb2.ExchangeApiKeyRequest(key=key),
                metadata=call_metadata(),
                timeout=EXCHANGE_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise Unauthenticated("the API key is not valid or was revoked") from error
            raise  # identity unavailable and the like: the gateway's usual problem answer
        # Kept no longer than the setting, and never past the token's own expiry.
        return answer.access_token, min(self._ttl, answer.expires_in - EXPIRY_MARGIN_SECONDS)
