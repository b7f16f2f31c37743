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

import asyncio
import hashlib
import time
from collections import OrderedDict

import grpc

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
        self._max = max_entries
        self._cache: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._pending: dict[str, asyncio.Future[str]] = {}

    def __len__(self) -> int:
        return len(self._cache)

    async def token_for(self, key: str) -> str:
        """An access token for the key; UNAUTHENTICATED when identity refuses the key."""
        digest = key_digest(key)
        cached = self._cache.get(digest)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        if pending := self._pending.get(digest):
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[digest] = future
        try:
            token = await self._exchange(digest, key)
            future.set_result(token)
            return token
        except BaseException as error:
            self._cache.pop(digest, None)
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            del self._pending[digest]

    async def _exchange(self, digest: str, key: str) -> str:
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
        lifetime = min(self._ttl, answer.expires_in - EXPIRY_MARGIN_SECONDS)
        if lifetime > 0:
            self._remember(digest, time.monotonic() + lifetime, answer.access_token)
        return answer.access_token

    def _remember(self, digest: str, until: float, token: str) -> None:
        self._cache[digest] = (until, token)
        self._cache.move_to_end(digest)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
