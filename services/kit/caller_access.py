"""What the caller may do, as identity says: every service but identity asks
`TrustService.GetCallerAccess` and keeps the answer for a few seconds per session.

Verifying the token is local (kit/auth.py); the access behind it is not in the token,
so that a change of roles, a deactivation or a logout takes effect everywhere within the
cache period instead of when the token expires. Concurrent first requests of one session
share one call to identity.
"""

from __future__ import annotations

import grpc

from services.kit.authz import Access
from services.kit.cache import SharedLoadCache
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
        self._answers: SharedLoadCache[CacheKey, Access] = SharedLoadCache(max_entries=max_entries)

    async def access(self, caller: Caller) -> Access:
        if not caller.is_company or not caller.token:
            raise Unauthenticated("a bearer token is needed")
        key = (caller.company_id or "", caller.user_id or "", caller.session_id or "")
        return await self._answers.get(key, lambda: self._ask_identity(caller))

    async def _ask_identity(self, caller: Caller) -> tuple[Access, float]:
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
        access = Access.from_pairs(
            answer.company_id,
            ((scope.node_id or None, scope.permissions) for scope in answer.scopes),
        )
        return access, self._ttl
