"""Who the company's people are, asked of identity's DirectoryService with the operator's
credential (a notice is made when no user's token is at hand), and kept for a short while:
one event tells many people, and events come in bursts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import grpc

from services.kit.cache import SharedLoadCache
from services.kit.errors import domain_error_from
from services.kit.grpc_client import call_metadata
from services.notifications.domain.people_notices import Person
from vm.identity.v1 import directory_pb2, directory_pb2_grpc

TIMEOUT = 10.0
# A user given or losing a permission is told accordingly within this many seconds.
KEEP_SECONDS = 30.0
CACHE_ENTRIES = 2_000
PAGE = 500


class PeopleDirectory(Protocol):
    async def people(
        self, company_id: str, permission: str = "", user_ids: Sequence[str] = ()
    ) -> list[Person]:
        """The company's active users holding `permission` (anywhere; every user when
        empty), or those of `user_ids` still active."""
        ...


def _person(message: directory_pb2.Person) -> Person:
    return Person(
        user_id=message.user_id,
        email=message.email,
        phone=message.phone,
        locale=message.locale or "ru",
        company_wide=message.company_wide,
    )


class IdentityDirectory:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        operator_token: str,
        *,
        keep_seconds: float = KEEP_SECONDS,
    ) -> None:
        self._stub = directory_pb2_grpc.DirectoryServiceStub(channel)
        self._operator = call_metadata(f"Operator {operator_token}")
        self._keep = keep_seconds
        self._cache: SharedLoadCache[tuple[str, str, tuple[str, ...]], list[Person]] = (
            SharedLoadCache(max_entries=CACHE_ENTRIES)
        )

    async def people(
        self, company_id: str, permission: str = "", user_ids: Sequence[str] = ()
    ) -> list[Person]:
        key = (company_id, permission, tuple(sorted(set(user_ids))))

        async def load() -> tuple[list[Person], float]:
            return await self._ask(*key), self._keep

        return await self._cache.get(key, load)

    async def _ask(
        self, company_id: str, permission: str, user_ids: tuple[str, ...]
    ) -> list[Person]:
        found: list[Person] = []
        token = ""
        while True:
            request = directory_pb2.ListCompanyPeopleRequest(
                company_id=company_id,
                permission=permission,
                user_ids=list(user_ids),
                page_size=PAGE,
                page_token=token,
            )
            try:
                answer = await self._stub.ListCompanyPeople(
                    request, metadata=self._operator, timeout=TIMEOUT
                )
            except grpc.aio.AioRpcError as error:
                raise domain_error_from(error, "identity") from error
            found += [_person(p) for p in answer.people]
            token = answer.next_page_token
            if not token:
                return found
