"""What the caller may do, as identity says: every service but identity asks
`TrustService.GetCallerAccess` and keeps the answer for a few seconds per session.

Verifying the token is local (kit/auth.py); the access behind it is not in the token,
so that a change of roles, a deactivation or a logout takes effect everywhere within the
cache period instead of when the token expires. Concurrent first requests of one session
share one call to identity.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

import grpc

from services.kit.authz import Access
from services.kit.context import Caller
from services.kit.errors import Unauthenticated, Unavailable
from services.kit.grpc_client import call_metadata
from vm.identity.v1 import trust_pb2, trust_pb2_grpc

CacheKey = tuple[str, str, str]


class CallerAccessResolver:
    def __init__(
        self, channel: grpc.aio.Channel, *, ttl_seconds: float = 5.0, max_entries: int = 50_000
    ) -> None:
        self._stub = trust_pb2_grpc.TrustServiceStub(channel)
        self._ttl = ttl_seconds
        self._max = max_entries
        self._cache: OrderedDict[CacheKey, tuple[float, Access]] = OrderedDict()
        self._pending: dict[CacheKey, asyncio.Future[Access]] = {}

    async def access(self, caller: Caller) -> Access:
        if not caller.is_company or not caller.token:
            raise Unauthenticated("a bearer token is needed")
        key = (caller.company_id or "", caller.user_id or "", caller.session_id or "")
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        if pending := self._pending.get(key):
            return await asyncio.shield(pending)
        future: asyncio.Future[Access] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            access = await self._ask_identity(caller)
            future.set_result(access)
            self._remember(key, access)
            return access
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            del self._pending[key]

    async def _ask_identity(self, caller: Caller) -> Access:
        try:
            answer = await self._stub.GetCallerAccess(
                trust_pb2.GetCallerAccessRequest(),
                metadata=call_metadata(f"Bearer {caller.token}"),
                timeout=5,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND):
                raise Unauthenticated("the session has ended; log in again") from error
            raise Unavailable("identity did not say what the caller may do") from error
        return Access.from_pairs(
            answer.company_id,
            ((scope.node_id or None, scope.permissions) for scope in answer.scopes),
        )

    def _remember(self, key: CacheKey, access: Access) -> None:
        self._cache[key] = (time.monotonic() + self._ttl, access)
        self._cache.move_to_end(key)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
