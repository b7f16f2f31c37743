"""What tickets asks other services at the moment it needs the answer, with the caller's
own credential (zero trust: identity and catalog decide what the caller may see).

- identity: who the caller is (name and e-mail of the ticket's author, the name on each
  comment): `ProfileService.GetMe`, remembered for a minute per session.
- catalog: that each number of a new ticket is one the caller sees, and where it is in the
  hierarchy (`NumberService.GetNumber`, `HierarchyService.GetHierarchy`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import grpc

from services.kit.cache import SharedLoadCache
from services.kit.context import Caller
from services.kit.errors import NotFound, PermissionDenied, Unauthenticated, Unavailable
from services.kit.grpc_client import caller_metadata
from services.tickets.domain.tickets import Actor
from services.tickets.domain.workflow import CUSTOMER
from vm.catalog.v1 import hierarchy_pb2, hierarchy_pb2_grpc, numbers_pb2, numbers_pb2_grpc
from vm.identity.v1 import profile_pb2, profile_pb2_grpc

TIMEOUT_SECONDS = 5.0
PERSON_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Person:
    """The caller as a ticket shows it, and where answers to it go."""

    actor: Actor
    email: str


def _unavailable(service: str, error: grpc.aio.AioRpcError) -> Exception:
    if error.code() == grpc.StatusCode.UNAUTHENTICATED:
        return Unauthenticated("the session has ended; log in again")
    return Unavailable(f"{service} did not answer; try again later")


class IdentityPeople:
    def __init__(self, channel: grpc.aio.Channel, *, max_entries: int = 10_000) -> None:
        self._profiles = profile_pb2_grpc.ProfileServiceStub(channel)
        self._people: SharedLoadCache[tuple[str, str], Person] = SharedLoadCache(
            max_entries=max_entries
        )

    async def who(self, caller: Caller) -> Person:
        key = (caller.user_id or "", caller.session_id or "")
        return await self._people.get(key, lambda: self._ask(caller))

    async def _ask(self, caller: Caller) -> tuple[Person, float]:
        try:
            me = await self._profiles.GetMe(
                profile_pb2.GetMeRequest(),
                metadata=caller_metadata(caller),
                timeout=TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            raise _unavailable("identity", error) from error
        if me.HasField("user"):
            name = me.user.full_name or me.user.login
            person = Person(Actor(CUSTOMER, me.user.id, name), me.user.email)
        else:  # an API key: answers go to the company's contact address
            person = Person(
                Actor(CUSTOMER, caller.user_id or "", me.api_key.name), me.company.contact_email
            )
        return person, PERSON_CACHE_SECONDS


class CatalogNumbers:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._numbers = numbers_pb2_grpc.NumberServiceStub(channel)
        self._hierarchy = hierarchy_pb2_grpc.HierarchyServiceStub(channel)

    async def paths(self, caller: Caller, msisdns: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """msisdn → its node's path (root first), for numbers the caller sees; NotFound
        when one is not among them."""
        if not msisdns:
            return {}
        metadata = caller_metadata(caller)
        try:
            tree = await self._hierarchy.GetHierarchy(
                hierarchy_pb2.GetHierarchyRequest(), metadata=metadata, timeout=TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError as error:
            raise _unavailable("catalog", error) from error
        parents = {node.id: node.parent_id for node in tree.nodes}
        nodes = await asyncio.gather(*(self._node_of(m, metadata) for m in msisdns))
        return {msisdn: _path(node, parents) for msisdn, node in zip(msisdns, nodes, strict=True)}

    async def _node_of(self, msisdn: str, metadata: tuple[tuple[str, str], ...]) -> str:
        try:
            answer = await self._numbers.GetNumber(
                numbers_pb2.GetNumberRequest(msisdn=msisdn),
                metadata=metadata,
                timeout=TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                # Not named: another company's number and no number look the same.
                raise NotFound("a number of the ticket is not among your numbers") from error
            if error.code() == grpc.StatusCode.PERMISSION_DENIED:
                raise PermissionDenied(
                    "a ticket about numbers needs the permission 'numbers.view' for them"
                ) from error
            raise _unavailable("catalog", error) from error
        return answer.number.node_id


def _path(node_id: str, parents: dict[str, str]) -> tuple[str, ...]:
    path: list[str] = []
    while node_id and node_id not in path:
        path.append(node_id)
        node_id = parents.get(node_id, "")
    return tuple(reversed(path))
